using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using ModelKit.Inference;

namespace ModelKit.Grpc;

/// <summary>
/// gRPC's standard health checking (<c>grpc.health.v1.Health</c>) over ModelKit's health checks. Service names: the
/// empty name, <c>inference.GRPCInferenceService</c> and <c>model.ModelService</c> are the server's readiness (SERVING
/// unless a health check is unhealthy); any other name is a model id: SERVING when it can run now (a running deployment,
/// or served on demand), NOT_SERVING when it is deployed but not running, and the call fails with NOT_FOUND for an
/// unknown one, as the protocol asks. <c>Watch</c> sends the status, then each change (checked every second) until the
/// client leaves or the host stops.
/// </summary>
internal sealed class ModelKitHealthService(HealthCheckService health, IInferenceService inference, IHostApplicationLifetime lifetime, TimeProvider timeProvider)
    : Health.HealthBase
{
    private static readonly HashSet<string> ServerNames = new(StringComparer.Ordinal) { "", "inference.GRPCInferenceService", "model.ModelService" };

    public override async Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context) =>
        new() { Status = await StatusAsync(request.Service, context.CancellationToken) ?? throw Unknown(request.Service) };

    public override async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
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
            var report = await health.CheckHealthAsync(cancellationToken);
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

    private static RpcException Unknown(string service) =>
        new(new Status(StatusCode.NotFound, $"'{(service.Length > 80 ? service[..80] + "…" : service)}' is neither a service of this server nor a registered model."));
}
