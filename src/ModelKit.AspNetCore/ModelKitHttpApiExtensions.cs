using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelKit.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers what <c>app.MapModelKit()</c> needs: API-key authentication, scope policies and rate limits.</summary>
public static class ModelKitHttpApiExtensions
{
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
        services.TryAddSingleton<ModelKitApiKeyDigests>();
        services.TryAddSingleton<ModelKitHttpApiMarker>();
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ModelKitApiKeyHandler>(ModelKitApiKeyHandler.SchemeName, null);
        services.AddAuthorization(options =>
        {
            foreach (var scope in new[] { ModelKitScopes.Read, ModelKitScopes.Infer, ModelKitScopes.Manage })
            {
                options.AddPolicy(ModelKitScopes.Policy(scope), policy => policy
                    .AddAuthenticationSchemes(ModelKitApiKeyHandler.SchemeName)
                    .RequireAuthenticatedUser()
                    .RequireAssertion(context => context.User.HasClaim("scope", scope) || context.User.HasClaim("scope", ModelKitScopes.Manage)));
            }
        });
        return builder;
    }
}

internal sealed class ModelKitHttpApiMarker;

internal sealed class ModelKitAuthOptionsValidator : IValidateOptions<ModelKitAuthOptions>
{
    private static readonly HashSet<string> KnownScopes = [ModelKitScopes.Read, ModelKitScopes.Infer, ModelKitScopes.Manage];

    public ValidateOptionsResult Validate(string? name, ModelKitAuthOptions options)
    {
        var errors = new List<string>();
        if (options.Enabled && options.Keys.Count == 0)
        {
            errors.Add("ModelKit API keys are required but none is configured: add keys (ModelKit:Auth:Keys) or turn authentication off explicitly (ModelKit:Auth:Enabled = false).");
        }

        if (options.RequestsPerMinute < 0) errors.Add($"RequestsPerMinute must be 0 (off) or more (was {options.RequestsPerMinute}).");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            if (string.IsNullOrWhiteSpace(key.Name)) errors.Add($"API key #{i + 1} needs a Name.");
            else if (!names.Add(key.Name)) errors.Add($"API key name '{key.Name}' is used twice.");
            if (key.Key.Length < 16) errors.Add($"API key '{key.Name}' is shorter than 16 characters.");
            if (key.Scopes.Count == 0) errors.Add($"API key '{key.Name}' has no scopes (use read, infer, manage).");
            foreach (var scope in key.Scopes.Where(s => !KnownScopes.Contains(s))) errors.Add($"API key '{key.Name}' has an unknown scope '{scope}' (use read, infer, manage).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
