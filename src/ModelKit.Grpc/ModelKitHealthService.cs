using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ModelKit.AspNetCore;
using ModelKit.Inference;

namespace ModelKit.Grpc;

/// <summary>
/// gRPC's standard health checking (<c>grpc.health.v1.Health</c>) over ModelKit's health checks. Service names: the
/// empty name, <c>inference.GRPCInferenceService</c> and <c>model.ModelService</c> are the server's readiness (SERVING
/// unless a health check is unhealthy); any other name is a model id: SERVING when it can run now (a running deployment,
/// or served on demand), NOT_SERVING when it is deployed but not running, and the call fails with NOT_FOUND for an
/// unknown one, as the protocol asks. The server's names are anonymous (probes); a model id needs a key with the read
/// scope, as REST's and the protocol's model readiness do, so that no one without a key learns which models exist.
/// <c>Watch</c> sends the status, then each change (checked every second, the health report shared by every watcher)
/// until the client leaves or the host stops.
/// </summary>
internal sealed class ModelKitHealthService(
    HealthReports reports, IInferenceService inference, IHostApplicationLifetime lifetime, TimeProvider timeProvider, IOptionsMonitor<ModelKitAuthOptions> auth)
    : Health.HealthBase
{
    private static readonly HashSet<string> ServerNames = new(StringComparer.Ordinal) { "", "inference.GRPCInferenceService", "model.ModelService" };

    public override async Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        await AuthorizeAsync(request.Service, context);
        return new() { Status = await StatusAsync(request.Service, context.CancellationToken) ?? throw Unknown(request.Service) };
    }

    public override async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        await AuthorizeAsync(request.Service, context);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        HealthCheckResponse.Types.ServingStatus? last = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var status = await StatusAsync(request.Service, stop.Token) ?? HealthCheckResponse.Types.ServingStatus.ServiceUnknown;
                if (status != last)
                {
                    await responseStream.WriteAsync(new HealthCheckResponse { Status = status }, stop.Token);
                    last = status;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), timeProvider, stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The client left, or the host stops: the stream ends.
        }
    }

    // Null: no such service (an unknown model id).
    private async Task<HealthCheckResponse.Types.ServingStatus?> StatusAsync(string service, CancellationToken cancellationToken)
    {
        if (ServerNames.Contains(service))
        {
            var report = await reports.GetAsync(cancellationToken);
            return report.Status == HealthStatus.Unhealthy ? HealthCheckResponse.Types.ServingStatus.NotServing : HealthCheckResponse.Types.ServingStatus.Serving;
        }

        try
        {
            await inference.GetSignatureAsync(service, null, cancellationToken);
            return HealthCheckResponse.Types.ServingStatus.Serving;
        }
        catch (DeploymentNotRunningException)
        {
            return HealthCheckResponse.Types.ServingStatus.NotServing;
        }
        catch (ModelNotFoundException)
        {
            return null;
        }
        catch (ModelUnavailableException)
        {
            return HealthCheckResponse.Types.ServingStatus.NotServing;
        }
    }

    // A model id as the service name: the caller needs the read scope (when keys are on for the gRPC surface).
    private async Task AuthorizeAsync(string service, ServerCallContext context)
    {
        var options = auth.CurrentValue;
        if (ServerNames.Contains(service) || !options.Enabled
            || options.AnonymousSurfaces.Contains(Microsoft.AspNetCore.Builder.ModelKitGrpcEndpointRouteBuilderExtensions.SurfaceId, StringComparer.OrdinalIgnoreCase))
        {
            return;
        }

        var result = await context.GetHttpContext().AuthenticateAsync(ModelKitApiKeyHandler.SchemeName);
        if (!result.Succeeded || result.Principal is not { } principal)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "A model's health needs an API key with the read scope: send it as 'x-api-key' or 'authorization: Bearer' metadata."));
        }

        if (!principal.HasClaim("scope", ModelKitScopes.Read) && !principal.HasClaim("scope", ModelKitScopes.Manage))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "A model's health needs a key with the read scope."));
        }
    }

    private static RpcException Unknown(string service) =>
        new(new Status(StatusCode.NotFound, $"'{(service.Length > 80 ? service[..80] + "…" : service)}' is neither a service of this server nor a registered model."));
}

/// <summary>The host's health report, computed at most once a second however many probes and watchers ask.</summary>
internal sealed class HealthReports(HealthCheckService health, TimeProvider timeProvider)
{
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);
    private readonly Lock _gate = new();
    private Task<HealthReport>? _current;
    private long _computedAt;

    public Task<HealthReport> GetAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_current is null || _current.IsFaulted || _current.IsCanceled || timeProvider.GetElapsedTime(_computedAt) > Freshness)
            {
                _computedAt = timeProvider.GetTimestamp();
                _current = health.CheckHealthAsync(CancellationToken.None); // shared: one caller's cancellation must not cancel the others'
            }

            return _current.WaitAsync(cancellationToken);
        }
    }
}
