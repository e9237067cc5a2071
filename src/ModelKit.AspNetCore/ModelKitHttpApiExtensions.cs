using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelKit.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers what <c>app.MapModelKit()</c> needs: API-key authentication, scope policies and rate limits.</summary>
public static class ModelKitHttpApiExtensions
{
    /// <summary>
    /// Adds the HTTP API's services with its options bound from <paramref name="modelKitSection"/> (the host's
    /// <c>ModelKit</c> section): <c>Auth</c> (keys, scopes, rate limits, anonymous surfaces), <c>Http</c> (body limits) and
    /// <c>Http:ModelsResource</c> (which seed answers list, get and delete on <c>/api/v1/models</c>). The binding follows
    /// the configuration, so API keys are rotated by changing it (a reloading source such as appsettings.json), without
    /// a restart.
    /// </summary>
    public static IModelKitBuilder AddHttpApi(this IModelKitBuilder builder, Microsoft.Extensions.Configuration.IConfiguration modelKitSection)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(modelKitSection);
        builder.Services.Configure<ModelKitAuthOptions>(modelKitSection.GetSection("Auth"));
        builder.Services.Configure<ModelKitHttpOptions>(modelKitSection.GetSection("Http"));
        builder.Services.Configure<ModelsResourceOptions>(modelKitSection.GetSection("Http:ModelsResource"));
        return builder.AddHttpApi();
    }

    /// <summary>
    /// Adds the HTTP API's services. Keys and limits come from <paramref name="configure"/> (the sample binds the
    /// <c>ModelKit:Auth</c> configuration section). Authentication is on unless <see cref="ModelKitAuthOptions.Enabled"/>
    /// is set to false explicitly; on with no keys is a configuration error reported at start.
    /// </summary>
    public static IModelKitBuilder AddHttpApi(this IModelKitBuilder builder, Action<ModelKitAuthOptions>? configure = null, Action<ModelKitHttpOptions>? http = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<ModelKitAuthOptions>().ValidateOnStart();
        if (configure is not null) services.Configure(configure);
        services.AddOptions<ModelKitHttpOptions>().Validate(o => o.MaxJsonBodyBytes > 0, "ModelKitHttpOptions.MaxJsonBodyBytes must be positive.").ValidateOnStart();
        if (http is not null) services.Configure(http);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelKitAuthOptions>, ModelKitAuthOptionsValidator>());
        services.TryAddSingleton<ModelKitRateLimiter>();
        services.TryAddSingleton<ModelKitLargeBodies>();
        services.TryAddSingleton<ModelKitAuthThrottle>();
        services.TryAddSingleton(sp => new ModelKitWebSocketTickets(sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.TryAddSingleton<ModelKitApiKeyDigests>();
        services.TryAddSingleton<ModelKitKeyAuthenticator>();
        services.TryAddSingleton<ModelKitHttpApiMarker>();
        services.TryAddSingleton<ModelKitSurfaces>();
        services.TryAddEnumerable(ServiceDescriptor.Transient<Microsoft.AspNetCore.Hosting.IStartupFilter, ModelKitSurfaceErrorsStartupFilter>());
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ModelKitApiKeyHandler>(ModelKitApiKeyHandler.SchemeName, null);
        services.AddAuthorization(options =>
        {
            // For a host app's own endpoints (RequireModelKitScope) and the gRPC services; ModelKit's HTTP surfaces check
            // the same scopes in their filter (ModelKitEndpointConventions).
            foreach (var scope in new[] { ModelKitScopes.Read, ModelKitScopes.Infer, ModelKitScopes.Manage, ModelKitScopes.ReadOrInfer })
            {
                options.AddPolicy(ModelKitScopes.Policy(scope), policy => policy
                    .AddAuthenticationSchemes(ModelKitApiKeyHandler.SchemeName)
                    .RequireAuthenticatedUser()
                    .RequireAssertion(context => ModelKitKeyAuthenticator.HasScope(context.User, scope)));
            }
        });
        return builder;
    }
}
