using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelKit.AspNetCore;
using ModelKit.Dashboard.Components;
using ModelKit.Deployments;
using ModelKit.Downloads;

namespace ModelKit.Dashboard;

/// <summary>
/// The dashboard's endpoints under its prefix: the page, the login form, the live stream (server-sent events carrying
/// each panel's HTML, rendered by the same Razor components as the page), the actions (JSON, manage scope), and the
/// page's script and style sheet (embedded in this assembly).
/// </summary>
internal static class DashboardEndpoints
{
    private const string PrefixItem = "modelkit:dashboard-prefix";
    private const string ActionHeader = "X-ModelKit-Dashboard";
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    // A script, a style sheet and SVG only from the dashboard itself; no framing.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    /// <summary>The dashboard's prefix for the current request (set by its endpoints).</summary>
    public static PathString PrefixOf(HttpContext context) => context.Items.TryGetValue(PrefixItem, out var prefix) && prefix is PathString p ? p : PathString.Empty;

    public static RouteGroupBuilder Map(IEndpointRouteBuilder endpoints, string prefix)
    {
        var group = endpoints.MapGroup(prefix);
        var prefixPath = new PathString(prefix.TrimEnd('/'));
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            http.Items[PrefixItem] = prefixPath;
            var headers = http.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.XFrameOptions = "DENY";
            // A form or action from another site is refused, whatever cookie it carries: by Sec-Fetch-Site, or where a browser
            // does not send that, by an Origin that is not this host.
            if (HttpMethods.IsPost(http.Request.Method) && FromAnotherSite(http.Request))
            {
                return Failed(StatusCodes.Status403Forbidden, "Requests from other sites are refused.");
            }

            return await next(context);
        });
        group.WithMetadata(new ExcludeFromDescriptionAttribute());
        group.AllowAnonymous(); // the dashboard checks its own sessions; a host's fallback policy must not lock its login form away

        group.MapGet("/", PageAsync);
        group.MapGet("/login", LoginFormAsync);
        group.MapPost("/login", LoginAsync).DisableAntiforgery();
        group.MapPost("/logout", Logout).DisableAntiforgery();
        group.MapGet("/events", Events);
        group.MapGet("/session", (HttpContext context, DashboardSession session) => session.Current(context) is { } user
            ? Results.Json(new SessionAnswer(user.Name, user.CanManage), DashboardJson.Default.SessionAnswer)
            : Results.Json(new ActionAnswer(null, "Sign in again: the session ended."), DashboardJson.Default.ActionAnswer, statusCode: StatusCodes.Status401Unauthorized));
        group.MapPost("/actions/deployments/{deploymentId}/{action}", DeploymentActionAsync);
        group.MapPost("/actions/downloads/{taskId}/{action}", DownloadActionAsync);
        group.MapGet("/assets/{name}", Asset);
        return group;
    }

    private static bool FromAnotherSite(HttpRequest request)
    {
        if (request.Headers["Sec-Fetch-Site"] is [{ } site]) return site is "cross-site" or "same-site";
        return request.Headers.Origin is [{ } origin] && origin != "null"
            && !(Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase));
    }

    private static string BasePath(HttpContext context) => context.Request.PathBase.Add(PrefixOf(context)).Value ?? string.Empty;

    private static async Task<IResult> PageAsync(HttpContext context, DashboardSession session, CancellationToken cancellationToken)
    {
        if (session.Current(context) is not { } user) return Results.Redirect(BasePath(context) + "/login");
        var snapshot = await context.RequestServices.GetRequiredService<DashboardState>().GetAsync(cancellationToken);
        var html = await RenderAsync<DashboardPage>(context.RequestServices, new DashboardView(BasePath(context), snapshot, user, signOut: session.Required));
        context.Response.Headers.CacheControl = "no-store";
        return Results.Content(html, "text/html; charset=utf-8");
    }

    private static async Task<IResult> LoginFormAsync(HttpContext context, DashboardSession session)
    {
        if (session.Current(context) is not null) return Results.Redirect(BasePath(context) + "/");
        return await LoginPageAsync(context, problem: null, StatusCodes.Status200OK);
    }

    private static async Task<IResult> LoginAsync(HttpContext context, DashboardSession session, ModelKitAuthThrottle throttle)
    {
        if (!session.Required) return Results.Redirect(BasePath(context) + "/");
        if (throttle.IsBlocked(context)) return await ThrottledAsync(context);

        string? key = null;
        if (context.Request.HasFormContentType)
        {
            try
            {
                var form = await context.Request.ReadFormAsync(context.RequestAborted);
                key = form["key"].FirstOrDefault();
            }
            catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or IOException)
            {
                return await LoginPageAsync(context, "The form could not be read: send the key as the form field 'key'.", StatusCodes.Status400BadRequest);
            }
        }

        var (user, problem, known) = session.Check(key);
        if (user is null)
        {
            // A wrong key counts against the address (as the APIs' do); a right key without the read scope does not. When
            // parallel guesses spent the address's last failures meanwhile, this one is refused without its answer.
            if (!string.IsNullOrWhiteSpace(key) && !known && !throttle.TryCountFailure(context)) return await ThrottledAsync(context);
            var status = string.IsNullOrWhiteSpace(key) ? StatusCodes.Status400BadRequest : known ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized;
            return await LoginPageAsync(context, problem, status);
        }

        // A right key in a burst of guesses that spent the address's failures meanwhile is refused as they are.
        if (throttle.IsBlocked(context)) return await ThrottledAsync(context);
        session.SignIn(context, key!);
        return Results.Redirect(BasePath(context) + "/");
    }

    private static Task<IResult> ThrottledAsync(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "60";
        return LoginPageAsync(context, "Too many failed sign-ins from this address; wait a minute and try again.", StatusCodes.Status429TooManyRequests);
    }

    private static IResult Logout(HttpContext context, DashboardSession session)
    {
        session.SignOut(context);
        return Results.Redirect(BasePath(context) + "/login");
    }

    private static async Task<IResult> LoginPageAsync(HttpContext context, string? problem, int status)
    {
        var html = await RenderAsync<LoginPage>(context.RequestServices, new DashboardView(BasePath(context), problem: problem));
        context.Response.Headers.CacheControl = "no-store";
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    // Every RefreshInterval: each panel whose HTML changed since the last event, as {"panel": id, "html": …}. The stream
    // ends when the client goes, the app stops, or the session ends (then with a "signed-out" event).
    private static IResult Events(HttpContext context, DashboardSession session, IOptions<ModelKitDashboardOptions> options, IHostApplicationLifetime lifetime)
    {
        if (session.Current(context) is null) return Results.Json(new ActionAnswer(null, "Sign in again: the session ended."), DashboardJson.Default.ActionAnswer, statusCode: StatusCodes.Status401Unauthorized);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["X-Accel-Buffering"] = "no"; // nginx: pass events on at once
        var interval = options.Value.RefreshInterval < TimeSpan.FromMilliseconds(250) ? TimeSpan.FromMilliseconds(250) : options.Value.RefreshInterval;
        return TypedResults.ServerSentEvents(StreamAsync(context, session, interval, lifetime.ApplicationStopping));
    }

    private static async IAsyncEnumerable<SseItem<string>> StreamAsync(
        HttpContext context, DashboardSession session, TimeSpan interval, CancellationToken stopping, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping, cancellationToken);
        var token = ended.Token;
        var state = context.RequestServices.GetRequiredService<DashboardState>();
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("ModelKit.Dashboard");
        var sent = new Dictionary<string, string>(StringComparer.Ordinal);
        var quietSince = DateTime.UtcNow;
        using var timer = new PeriodicTimer(interval);
        while (!token.IsCancellationRequested)
        {
            // The user as the keys say now: a key rotated out (or without the read scope any more) ends the stream with
            // one event saying so; a key that lost manage loses its buttons.
            if (session.Current(context) is not { } user)
            {
                yield return new SseItem<string>("{}", "signed-out");
                yield break;
            }

            List<SseItem<string>> changed = [];
            try
            {
                // The panels are rendered once per snapshot for every viewer of the same kind; the stream sends those
                // that differ from what it sent last.
                foreach (var (panel, data) in await state.PanelEventsAsync(user.CanManage, token))
                {
                    if (sent.TryGetValue(panel, out var previous) && previous == data) continue;
                    sent[panel] = data;
                    changed.Add(new SseItem<string>(data, "panel"));
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                yield break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                DashboardLog.RefreshFailed(logger, ex);
            }

            foreach (var item in changed) yield return item;
            // Nothing changed for a while: a heartbeat, so that proxies do not close the quiet connection.
            if (changed.Count > 0) quietSince = DateTime.UtcNow;
            else if (DateTime.UtcNow - quietSince > Heartbeat)
            {
                quietSince = DateTime.UtcNow;
                yield return new SseItem<string>("{}", "heartbeat");
            }

            if (!await WaitAsync(timer, token)) yield break;
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<IResult> DeploymentActionAsync(
        HttpContext context, string deploymentId, string action, DashboardSession session, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        if (Refused(context, session) is { } refused) return refused;
        try
        {
            DeploymentInfo info;
            switch (action)
            {
                case "scale":
                    var replicas = await ReadReplicasAsync(context, cancellationToken);
                    info = await deployments.ScaleAsync(deploymentId, replicas, cancellationToken: cancellationToken);
                    return Done($"{deploymentId} scaled to {info.DesiredReplicas} replicas.");
                case "start":
                    info = await deployments.StartAsync(deploymentId, cancellationToken);
                    return Done($"{deploymentId} is starting.");
                case "stop":
                    info = await deployments.StopAsync(deploymentId, cancellationToken);
                    return Done($"{deploymentId} stopped.");
                case "restart":
                    info = await deployments.RestartAsync(deploymentId, cancellationToken);
                    return Done($"{deploymentId} is restarting.");
                default:
                    return Failed(StatusCodes.Status404NotFound, $"Unknown action '{ClientText.Quote(action)}': use scale, start, stop or restart.");
            }
        }
        catch (ModelKitException ex)
        {
            return Failed(StatusOf(ex), ex.Message);
        }
    }

    // The surfaces' status for the error; a deployment that failed cannot take the action (409), not a server error.
    private static int StatusOf(ModelKitException exception) =>
        exception.ErrorCode == ModelKitErrorCodes.DeploymentFailed ? StatusCodes.Status409Conflict : ModelKitProblems.StatusFor(exception.ErrorCode);

    private static async Task<IResult> DownloadActionAsync(
        HttpContext context, string taskId, string action, DashboardSession session, CancellationToken cancellationToken)
    {
        if (Refused(context, session) is { } refused) return refused;
        if (context.RequestServices.GetService<IDownloadManager>() is not { } downloads) return Failed(StatusCodes.Status404NotFound, "This server has no downloads service.");
        try
        {
            var info = action switch
            {
                "pause" => await downloads.PauseAsync(taskId, cancellationToken),
                "resume" => await downloads.ResumeAsync(taskId, cancellationToken),
                "cancel" => await downloads.CancelAsync(taskId, cancellationToken),
                _ => null,
            };
            return info is null
                ? Failed(StatusCodes.Status404NotFound, $"Unknown action '{ClientText.Quote(action)}': use pause, resume or cancel.")
                : Done($"Download {taskId} is {info.Status.ToString().ToLowerInvariant()}.");
        }
        catch (ModelKitException ex)
        {
            return Failed(StatusOf(ex), ex.Message);
        }
    }

    // Actions need a session with the manage scope, and the page's own header (a plain form from elsewhere cannot send it).
    private static IResult? Refused(HttpContext context, DashboardSession session)
    {
        if (session.Current(context) is not { } user) return Failed(StatusCodes.Status401Unauthorized, "Sign in again: the session ended.");
        if (!context.Request.Headers.ContainsKey(ActionHeader)) return Failed(StatusCodes.Status400BadRequest, $"Actions are sent by the dashboard's page (with the {ActionHeader} header).");
        if (!user.CanManage) return Failed(StatusCodes.Status403Forbidden, "This key may only read: actions need a key with the manage scope.");
        return null;
    }

    private static async Task<int> ReadReplicasAsync(HttpContext context, CancellationToken cancellationToken)
    {
        JsonElement body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException)
        {
            throw new InvalidInputException("The scale request is not JSON: send {\"replicas\": n}.");
        }

        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("replicas", out var replicas)) throw new InvalidInputException("Say how many replicas: {\"replicas\": n}.");
        if (replicas.ValueKind != JsonValueKind.Number || !replicas.TryGetInt32(out var count)) throw new InvalidInputException("Replicas must be a whole number.");
        if (count < 1) throw new InvalidInputException($"Replicas must be 1 or more (was {count}); stop the deployment to run none.");
        return count;
    }

    private static IResult Done(string message) => Results.Json(new ActionAnswer(message, null), DashboardJson.Default.ActionAnswer);

    private static IResult Failed(int status, string message) => Results.Json(new ActionAnswer(null, message), DashboardJson.Default.ActionAnswer, statusCode: status);

    private static IResult Asset(HttpContext context, string name)
    {
        if (!Assets.Value.TryGetValue(name, out var asset)) return Results.NotFound();
        context.Response.Headers.CacheControl = "no-cache"; // revalidated by its ETag: a new build's file is fetched at once
        return Results.Bytes(asset.Content, asset.ContentType, entityTag: asset.Tag);
    }

    // The page's files, read once from the assembly, each with an ETag from its content.
    private static readonly Lazy<Dictionary<string, (byte[] Content, string ContentType, Microsoft.Net.Http.Headers.EntityTagHeaderValue Tag)>> Assets = new(() =>
    {
        var assets = new Dictionary<string, (byte[], string, Microsoft.Net.Http.Headers.EntityTagHeaderValue)>(StringComparer.Ordinal);
        foreach (var (name, type) in new[] { ("dashboard.js", "text/javascript; charset=utf-8"), ("dashboard.css", "text/css; charset=utf-8") })
        {
            using var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream("ModelKit.Dashboard.assets." + name)
                ?? throw new InvalidOperationException($"The dashboard's {name} is missing from its assembly.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var content = copy.ToArray();
            assets[name] = (content, type, new Microsoft.Net.Http.Headers.EntityTagHeaderValue("\"" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content))[..16] + "\""));
        }

        return assets;
    });

    private static async Task<string> RenderAsync<TComponent>(IServiceProvider services, DashboardView view) where TComponent : IComponent
    {
        await using var renderer = new HtmlRenderer(services, services.GetRequiredService<ILoggerFactory>());
        return await RenderOnAsync<TComponent>(renderer, view);
    }

    // Every component of the dashboard takes one parameter, its view.
    internal static Task<string> RenderOnAsync<TComponent>(HtmlRenderer renderer, DashboardView view) where TComponent : IComponent
    {
        var parameters = ParameterView.FromDictionary(new Dictionary<string, object?> { ["View"] = view });
        return renderer.Dispatcher.InvokeAsync(async () => (await renderer.RenderComponentAsync<TComponent>(parameters)).ToHtmlString());
    }
}

internal sealed record PanelEvent(string Panel, string Html);

internal sealed record ActionAnswer(string? Message, string? Error);

internal sealed record SessionAnswer(string User, bool CanManage);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(PanelEvent))]
[System.Text.Json.Serialization.JsonSerializable(typeof(ActionAnswer))]
[System.Text.Json.Serialization.JsonSerializable(typeof(SessionAnswer))]
internal sealed partial class DashboardJson : System.Text.Json.Serialization.JsonSerializerContext;

internal static partial class DashboardLog
{
    [LoggerMessage(1, LogLevel.Warning, "The dashboard could not read the server's state for a refresh.")]
    public static partial void RefreshFailed(ILogger logger, Exception exception);
}
