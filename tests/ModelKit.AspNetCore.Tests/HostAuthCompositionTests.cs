using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelKit.AspNetCore;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>
/// ModelKit's surfaces in a host app with authentication of its own (its own default scheme, and a fallback policy that
/// requires its users everywhere): ModelKit's endpoints take ModelKit's keys and scopes, whatever the host's scheme; the
/// host's policy still guards the host's endpoints; a host endpoint can require a ModelKit scope.
/// </summary>
public sealed class HostAuthCompositionTests : IDisposable
{
    private const string AdminKey = "host-test-admin-key-0123456789";
    private const string ReadKey = "host-test-read-key-0123456789";
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task HostSchemeAndFallbackPolicy_DoNotApplyToModelKitsKeys_AndStillGuardTheHostsEndpoints()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddModelKit(o => o.DataDirectory = _dir.Path).AddOnnxRuntime().AddHttpApi(o =>
        {
            o.Keys.Add(new ModelKitApiKey { Name = "admin", Key = AdminKey, Scopes = [ModelKitScopes.Manage] });
            o.Keys.Add(new ModelKitApiKey { Name = "reader", Key = ReadKey, Scopes = [ModelKitScopes.Read] });
        });
        builder.Services.AddAuthentication(o => o.DefaultScheme = HostUserHandler.Name).AddScheme<AuthenticationSchemeOptions, HostUserHandler>(HostUserHandler.Name, null);
        builder.Services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder(HostUserHandler.Name).RequireAuthenticatedUser().Build());
        builder.Services.AddOutputCache(o => o.AddBasePolicy(policy => policy.Cache())); // caches every anonymous GET it may
        await using var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseOutputCache();
        app.MapDeploymentApi();
        app.MapGet("/host", (HttpContext context) => context.User.Identity?.Name);
        var calls = 0;
        app.MapGet("/host/open", () => Interlocked.Increment(ref calls).ToString(System.Globalization.CultureInfo.InvariantCulture)).AllowAnonymous();
        app.MapGet("/host/scoped", (HttpContext context) => context.User.Identity?.Name).RequireModelKitScope(ModelKitScopes.Read);
        await app.StartAsync();
        var client = app.GetTestClient();
        HttpRequestMessage Get(string path, string? key = null, string? hostUser = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (key is not null) request.Headers.Add("X-API-Key", key);
            if (hostUser is not null) request.Headers.Add(HostUserHandler.Header, hostUser);
            return request;
        }

        // ModelKit's endpoints: ModelKit's keys, with or without a host user; the host's user alone is not a key. With the host's
        // output cache in front, a request without a key right after a keyed one is still refused, not answered from the cache.
        // (This holds here even without the endpoints' NoStore marker, for a reason not found yet, so the marker is checked
        // on its own: every endpoint that needs a key carries it.)
        var keyed = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).Where(e => e.Metadata.GetMetadata<ModelKitScopeRequirement>() is not null).ToList();
        Assert.NotEmpty(keyed);
        Assert.All(keyed, e => Assert.True(e.Metadata.GetMetadata<OutputCacheAttribute>() is { NoStore: true }, $"{e.DisplayName} may be stored by the host's output cache"));
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Get("/api/v1/models", AdminKey))).StatusCode);
        DeploymentApi.Seed000Flow.AssertErrorShape(await ExpectAsync(await client.SendAsync(Get("/api/v1/models")), HttpStatusCode.Unauthorized, "UNAUTHORIZED"), "UNAUTHORIZED");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Get("/api/v1/models", ReadKey, hostUser: "alice"))).StatusCode);
        DeploymentApi.Seed000Flow.AssertErrorShape(await ExpectAsync(await client.SendAsync(Get("/api/v1/models", hostUser: "alice")), HttpStatusCode.Unauthorized, "UNAUTHORIZED"), "UNAUTHORIZED");
        var deploy = new HttpRequestMessage(HttpMethod.Post, "/api/v1/models/deploy") { Content = Json("""{"config": {"model_id": "nothing-here"}}""") };
        deploy.Headers.Add("X-API-Key", ReadKey);
        DeploymentApi.Seed000Flow.AssertErrorShape(await ExpectAsync(await client.SendAsync(deploy), HttpStatusCode.Forbidden, "FORBIDDEN"), "FORBIDDEN");

        // The host's output cache works (an anonymous endpoint of its own is answered from it).
        Assert.Equal(await client.GetStringAsync("/host/open"), await client.GetStringAsync("/host/open"));

        // The host's own endpoints: its fallback policy with its scheme, untouched by ModelKit.
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(Get("/host", AdminKey))).StatusCode);
        var host = await client.SendAsync(Get("/host", hostUser: "alice"));
        Assert.Equal((HttpStatusCode.OK, "alice"), (host.StatusCode, await host.Content.ReadAsStringAsync()));

        // A host endpoint that requires a ModelKit scope: ModelKit's key, as the key's user.
        var scoped = await client.SendAsync(Get("/host/scoped", ReadKey));
        Assert.Equal((HttpStatusCode.OK, "reader"), (scoped.StatusCode, await scoped.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(Get("/host/scoped", hostUser: "alice"))).StatusCode);
    }

    // A policy the host puts on a surface's builder runs as well: a request needs the host's user and ModelKit's key.
    [Fact]
    public async Task HostPolicyOnASurface_RunsBesideModelKitsKeys()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddModelKit(o => o.DataDirectory = _dir.Path).AddOnnxRuntime().AddHttpApi(o =>
            o.Keys.Add(new ModelKitApiKey { Name = "admin", Key = AdminKey, Scopes = [ModelKitScopes.Manage] }));
        builder.Services.AddAuthentication(o => o.DefaultScheme = HostUserHandler.Name).AddScheme<AuthenticationSchemeOptions, HostUserHandler>(HostUserHandler.Name, null);
        builder.Services.AddAuthorization();
        await using var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapDeploymentApi().RequireAuthorization(new AuthorizationPolicyBuilder(HostUserHandler.Name).RequireAuthenticatedUser().Build());
        await app.StartAsync();
        var client = app.GetTestClient();
        async Task<HttpResponseMessage> GetAsync(string? key, string? hostUser)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/models");
            if (key is not null) request.Headers.Add("X-API-Key", key);
            if (hostUser is not null) request.Headers.Add(HostUserHandler.Header, hostUser);
            return await client.SendAsync(request);
        }

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(AdminKey, "alice")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(AdminKey, hostUser: null)).StatusCode); // the host's policy
        DeploymentApi.Seed000Flow.AssertErrorShape(await ExpectAsync(await GetAsync(key: null, "alice"), HttpStatusCode.Unauthorized, "UNAUTHORIZED"), "UNAUTHORIZED");
    }

    public void Dispose() => _dir.Dispose();

    // The host's own scheme: a user named by a header (what a cookie or a JWT would carry).
    private sealed class HostUserHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string Name = "HostUser";
        public const string Header = "X-Host-User";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
            Task.FromResult(Request.Headers.TryGetValue(Header, out var user) && user.Count == 1
                ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user[0]!)], Name)), Name))
                : AuthenticateResult.NoResult());
    }
}
