using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ModelKit.LocalHub.Internal;

/// <summary>
/// Answers every request of a <see cref="LocalHubServer"/>: faults and authentication first, then one of the hub's endpoints
/// (<c>HubHandler.Api.cs</c>: search, model info, tree; <c>HubHandler.Files.cs</c>: resolve and LFS downloads).
/// </summary>
internal sealed partial class HubHandler(RepositoryStore store, LocalHubFaults faults, LocalHubCounters counters, string? token)
{
    private readonly byte[]? _token = token is null ? null : Encoding.UTF8.GetBytes(token);

    public async Task HandleAsync(HttpContext context)
    {
        counters.AddRequest();
        var aborted = context.RequestAborted;
        try
        {
            var delay = faults.Delay;
            if (delay > TimeSpan.Zero) await Task.Delay(delay, aborted);
            if (faults.TryTakeFailure())
            {
                counters.AddFailed();
                context.Response.Headers.RetryAfter = "1";
                await HubErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, null,
                    "Service unavailable: the local hub fails this request on purpose (LocalHubFaults.FailNextRequests); retry after 1 second.");
                return;
            }

            var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "/";
            var segments = HubPaths.Segments(rawTarget);
            var isLfs = segments.Length == 2 && segments[0] == "_lfs";
            if (!IsAuthorized(context, isLfs ? segments[1] : null))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                var sent = context.Request.Headers.Authorization.Count > 0;
                // The wrong-token wording is the hub's own: clients (huggingface_hub) recognise an invalid token by it.
                await HubErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, HubErrors.RepoNotFound, sent
                    ? "Invalid credentials in Authorization header"
                    : "Repository not found or authentication required: the local hub was started with a token; send 'Authorization: Bearer {token}'.");
                return;
            }

            await RouteAsync(context, segments);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away (or the hub is stopping): nothing to answer.
        }
        catch (InvalidDataException e) when (!context.Response.HasStarted)
        {
            await HubErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, null, e.Message);
        }
    }

    private Task RouteAsync(HttpContext context, string[] s)
    {
        var method = context.Request.Method;
        var isGet = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        if (s.Length >= 2 && s[0] == "api" && s[1] == "models")
        {
            if (!isGet) return MethodNotAllowedAsync(context);
            if (s.Length == 2) return SearchAsync(context);
            if (s.Length == 4) return ModelInfoAsync(context, s[2], s[3], "main");
            if (s.Length == 6 && s[4] == "revision") return ModelInfoAsync(context, s[2], s[3], s[5]);
            if (s.Length >= 6 && s[4] == "tree") return TreeAsync(context, s[2], s[3], s[5], s.AsMemory(6));
        }
        else if (s.Length == 2 && s[0] == "_lfs")
        {
            return isGet ? LfsAsync(context, s[1]) : MethodNotAllowedAsync(context);
        }
        else if (s.Length >= 5 && s[2] == "resolve")
        {
            return isGet ? ResolveAsync(context, s[0], s[1], s[3], s.AsMemory(4)) : MethodNotAllowedAsync(context);
        }

        return HubErrors.WriteAsync(context, StatusCodes.Status404NotFound, null,
            $"Not found: the local hub serves /api/models, /api/models/{{owner}}/{{name}}[/revision/{{rev}}|/tree/{{rev}}[/{{path}}]], /{{owner}}/{{name}}/resolve/{{rev}}/{{path}} and /_lfs/{{sha256}}; got '{context.Request.Path}'.");
    }

    private static Task MethodNotAllowedAsync(HttpContext context)
    {
        context.Response.Headers.Allow = "GET, HEAD";
        return HubErrors.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, null,
            $"Method not allowed: the local hub is read-only and answers GET and HEAD, not {context.Request.Method}.");
    }

    /// <summary>A bearer token equal to the hub's; an LFS download may carry the resolve redirect's signature instead.</summary>
    private bool IsAuthorized(HttpContext context, string? lfsSha256)
    {
        if (_token is null) return true;
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()), _token))
        {
            return true;
        }

        if (lfsSha256 is null) return false;
        var signature = context.Request.Query["sig"].ToString();
        return signature.Length > 0
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(Sign(lfsSha256)));
    }

    /// <summary>
    /// The signature a resolve redirect adds to an LFS download's address when the hub has a token, standing in for the
    /// signed CDN addresses of the real hub (clients drop the Authorization header on redirects).
    /// </summary>
    private string Sign(string sha256) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_token!, Encoding.ASCII.GetBytes(sha256.ToLowerInvariant())));
}
