using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using ModelKit;
using ModelKit.AspNetCore;
using static ModelKit.AspNetCore.ModelKitEndpointConventions;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// The Open Inference Protocol (KServe v2 / Triton) REST surface at <c>/v2</c>, so that Triton and KServe clients
/// can call ModelKit. Errors are <c>{"error": "…"}</c> as the protocol asks, with ModelKit's status codes.
/// </summary>
public static class OpenInferenceProtocolEndpointRouteBuilderExtensions
{
    /// <summary>Maps <c>/v2/health/live|ready</c>, <c>/v2</c>, <c>/v2/models/{m}[/versions/{v}]</c>, <c>…/ready</c> and <c>…/infer</c>.</summary>
    public static RouteGroupBuilder MapOpenInferenceProtocol(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var authEnabled = ModelKitEndpointConventions.AuthEnabled(endpoints.ServiceProvider, "MapOpenInferenceProtocol()");
        var group = endpoints.MapGroup("/v2").WithTags("Open Inference Protocol");
        group.AddModelKitFilter(endpoints.ServiceProvider, static (ex, _) =>
            Results.Json(new { error = ex.Message, code = ex.ErrorCode }, statusCode: ModelKitProblems.StatusFor(ex.ErrorCode)));

        group.MapGet("/health/live", () => Results.Json(new { live = true })).AllowAnonymous().WithSummary("Server liveness");
        group.MapGet("/health/ready", ReadyAsync).AllowAnonymous().WithSummary("Server readiness");
        Secure(group.MapGet("/", ServerMetadata), ModelKitScopes.Read, authEnabled).WithSummary("Server metadata");
        foreach (var prefix in new[] { "/models/{model_name}", "/models/{model_name}/versions/{model_version}" })
        {
            Secure(group.MapGet(prefix, ModelMetadataAsync), ModelKitScopes.Read, authEnabled).WithSummary("Model metadata");
            Secure(group.MapGet(prefix + "/ready", ModelReadyAsync), ModelKitScopes.Read, authEnabled).WithSummary("Model readiness");
            Secure(group.MapPost(prefix + "/infer", InferAsync), ModelKitScopes.Infer, authEnabled).WithSummary("Inference (Open Inference Protocol)");
        }

        return group;
    }

    private static async Task<IResult> ReadyAsync(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(cancellationToken);
        var ready = report.Status != HealthStatus.Unhealthy;
        return Results.Json(new { ready }, statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult ServerMetadata() =>
        Results.Json(new { name = "modelkit", version = typeof(OpenInferenceProtocolEndpointRouteBuilderExtensions).Assembly.GetName().Version?.ToString(3), extensions = Array.Empty<string>() });

    private static async Task<IResult> ModelMetadataAsync(string model_name, string? model_version, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var model = await registry.GetModelAsync(model_name, cancellationToken);
        var version = model.FindVersion(model_version)
            ?? throw new ModelNotFoundException($"Model '{model_name}' has no version '{model_version ?? "(default)"}'.");
        return Results.Json(new
        {
            name = model.Id,
            versions = model.Versions.Select(v => v.Version),
            platform = model.Framework == "onnx" ? "onnxruntime_onnx" : model.Framework,
            inputs = (version.Signature?.Inputs ?? []).Select(Spec),
            outputs = (version.Signature?.Outputs ?? []).Select(Spec),
        });
    }

    private static async Task<IResult> ModelReadyAsync(string model_name, string? model_version, IInferenceService inference, CancellationToken cancellationToken)
    {
        try
        {
            await inference.GetSignatureAsync(model_name, model_version, cancellationToken);
            return Results.Json(new { name = model_name, ready = true });
        }
        catch (ModelKitException ex) when (ex is DeploymentNotRunningException)
        {
            return Results.Json(new { name = model_name, ready = false, error = ex.Message }, statusCode: StatusCodes.Status400BadRequest);
        }
    }

    private static async Task<IResult> InferAsync(string model_name, string? model_version, HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<JsonObject>(context.Request, context.RequestAborted);
        if (body["inputs"] is not JsonArray inputs || inputs.Count == 0) throw new InvalidInputException("'inputs' (a non-empty array) is required.");
        var signature = await inference.GetSignatureAsync(model_name, model_version, context.RequestAborted);
        var named = new JsonObject();
        foreach (var input in inputs)
        {
            if (input is not JsonObject tensor || tensor["name"]?.GetValue<string>() is not { Length: > 0 } name)
            {
                throw new InvalidInputException("Every input needs 'name', 'shape', 'datatype' and 'data'.");
            }

            if (tensor["shape"] is null) throw new InvalidInputException($"input '{name}': 'shape' is required.");
            if (tensor["datatype"] is null) throw new InvalidInputException($"input '{name}': 'datatype' is required.");
            named[name] = tensor.DeepClone();
        }

        var result = await inference.InferAsync(new InferenceRequest
        {
            ModelId = model_name,
            Version = model_version,
            Inputs = TensorJson.ReadInputs(named, signature),
        }, context.RequestAborted);

        HashSet<string>? wanted = null;
        if (body["outputs"] is JsonArray requested && requested.Count > 0)
        {
            wanted = [.. requested.Select(o => o?["name"]?.GetValue<string>() ?? string.Empty)];
            foreach (var name in wanted.Where(n => !result.Outputs.ContainsKey(n)))
            {
                throw new InvalidInputException($"output '{name}' is not an output of model '{model_name}'; it has: {string.Join(", ", result.Outputs.Keys)}.");
            }
        }

        var outputs = new List<TensorPayload>();
        foreach (var (name, tensor) in result.Outputs)
        {
            if (wanted is null || wanted.Contains(name)) outputs.Add(TensorJson.WriteTensor(tensor, name));
        }

        return ModelKitJson.Json(new OipInferResponse(body["id"]?.ToString(), result.ModelId, result.Version, outputs));
    }

    private static object Spec(TensorSpec spec) => new { name = spec.Name, datatype = TensorJson.DataType(spec.ElementType), shape = spec.Shape };
}

internal sealed record OipInferResponse(
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Id,
    string ModelName,
    string ModelVersion,
    List<TensorPayload> Outputs);
