using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelKit;
using ModelKit.AspNetCore;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Tensors;
using ModelKit.Text;
using static ModelKit.AspNetCore.ModelKitEndpointConventions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// The Open Inference Protocol (KServe v2 / Triton) REST surface at <c>/v2</c>, so that Triton and KServe clients
/// can call ModelKit. Errors are <c>{"error": "…"}</c> as the protocol asks, with ModelKit's status codes.
/// </summary>
public static class OpenInferenceProtocolEndpointRouteBuilderExtensions
{
    private static readonly string[] Extensions = ["binary_tensor_data"];

    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "v2";

    /// <summary>
    /// Maps <c>/v2/health/live|ready</c>, <c>/v2</c>, <c>/v2/models/{m}[/versions/{v}]</c>, <c>…/ready</c> and <c>…/infer</c>
    /// under <paramref name="prefix"/> (default: the root).
    /// </summary>
    public static RouteGroupBuilder MapOpenInferenceProtocol(this IEndpointRouteBuilder endpoints, string? prefix = null)
    {
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapOpenInferenceProtocol()", "Open Inference Protocol",
            SurfaceMap.Normalize(prefix) + "/v2", Error, typeof(OpenInferenceProtocolError), string.Empty);
        var group = surface.Group;
        var authEnabled = surface.AuthEnabled;
        var id = "V2" + (surface.Prefix.Length > 0 ? surface.Prefix.Replace('/', '_') : string.Empty) + "_";
        group.MapGet("/health/live", () => ModelKitJson.Json(new OipLive(true))).AllowAnonymous().WithSummary("Server liveness")
            .WithName(id + "ServerLive").Produces<OipLive>();
        group.MapGet("/health/ready", ReadyAsync).AllowAnonymous().WithSummary("Server readiness").WithName(id + "ServerReady").Produces<OipReady>();
        Secure(group.MapGet("/", ServerMetadata), ModelKitScopes.Read, authEnabled).WithSummary("Server metadata").WithName(id + "ServerMetadata").Produces<OipServerMetadata>();
        foreach (var (model, suffix) in new[] { ("/models/{model_name}", string.Empty), ("/models/{model_name}/versions/{model_version}", "Version") })
        {
            Secure(group.MapGet(model, ModelMetadataAsync), ModelKitScopes.Read, authEnabled).WithSummary("Model metadata")
                .WithName(id + "ModelMetadata" + suffix).Produces<OipModelMetadata>();
            Secure(group.MapGet(model + "/ready", ModelReadyAsync), ModelKitScopes.Read, authEnabled).WithSummary("Model readiness")
                .WithName(id + "ModelReady" + suffix).Produces<OipModelReady>();
            Secure(group.MapPost(model + "/infer", InferAsync), ModelKitScopes.Infer, authEnabled).WithSummary("Inference (Open Inference Protocol)")
                .WithName(id + "ModelInfer" + suffix)
                .Accepts<OipInferRequest>("application/json", "application/octet-stream")
                .Produces<OipInferResponse>(StatusCodes.Status200OK, "application/json", "application/octet-stream");
        }

        return group;
    }

    // The protocol's error body: {"error": "…"}, with ModelKit's code beside it.
    private static IResult Error(HttpContext context, SurfaceError error) => Results.Json(new OpenInferenceProtocolError(error.Message, error.Code), statusCode: error.Status);

    // The error body: the protocol's "error" message, and ModelKit's code.
    private sealed record OpenInferenceProtocolError([property: System.Text.Json.Serialization.JsonPropertyName("error")] string Error, [property: System.Text.Json.Serialization.JsonPropertyName("code")] string Code);

    private static async Task<IResult> ReadyAsync(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(cancellationToken);
        var ready = report.Status != HealthStatus.Unhealthy;
        return ModelKitJson.Json(new OipReady(ready), ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult ServerMetadata() =>
        ModelKitJson.Json(new OipServerMetadata("modelkit", typeof(OpenInferenceProtocolEndpointRouteBuilderExtensions).Assembly.GetName().Version?.ToString(3), Extensions));

    private static async Task<IResult> ModelMetadataAsync(string model_name, string? model_version, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var model = await registry.GetModelAsync(model_name, cancellationToken);
        var version = model.FindVersion(model_version)
            ?? throw new ModelNotFoundException($"Model '{model_name}' has no version '{model_version ?? "(default)"}'.");
        return ModelKitJson.Json(new OipModelMetadata(
            model.Id,
            [.. model.Versions.Select(v => v.Version)],
            model.Framework == "onnx" ? "onnxruntime_onnx" : model.Framework,
            [.. (version.Signature?.Inputs ?? []).Select(Spec)],
            [.. (version.Signature?.Outputs ?? []).Select(Spec)]));
    }

    private static async Task<IResult> ModelReadyAsync(string model_name, string? model_version, IInferenceService inference, CancellationToken cancellationToken)
    {
        try
        {
            await inference.GetSignatureAsync(model_name, model_version, cancellationToken);
            return ModelKitJson.Json(new OipModelReady(model_name, true));
        }
        catch (ModelKitException ex) when (ex is DeploymentNotRunningException)
        {
            return ModelKitJson.Json(new OipModelReady(model_name, false, ex.Message), StatusCodes.Status400BadRequest);
        }
    }

    private static async Task<IResult> InferAsync(string model_name, string? model_version, HttpContext context, IInferenceService inference)
    {
        using var body = await OpenInferenceProtocolBody.ReadAsync(context.Request, context.RequestAborted);
        var root = body.Header.RootElement;
        var model = await inference.ResolveAsync(model_name, model_version, context.RequestAborted);
        var result = IsTextInput(root, model.Signature) && context.RequestServices.GetService<ITextEmbeddingService>() is { } text
            ? await OpenInferenceProtocolText.EmbedAsync(text, model, body.ReadInputs(null).Values.Single(), context.RequestAborted)
            : await inference.InferAsync(model, new InferenceRequest { ModelId = model_name, Version = model_version, Inputs = body.ReadInputs(model.Signature) }, context.RequestAborted);

        // The outputs asked for (all when 'outputs' is left out), each as JSON data or, by the binary extension, raw bytes.
        var outputs = new List<(string Name, Tensor Tensor, bool Binary)>();
        if (root.TryGetProperty("outputs", out var requested) && requested.ValueKind == JsonValueKind.Array && requested.GetArrayLength() > 0)
        {
            foreach (var output in requested.EnumerateArray())
            {
                var name = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : string.Empty;
                if (!result.Outputs.TryGetValue(name, out var tensor))
                {
                    throw new InvalidInputException($"output '{name}' is not an output of model '{model_name}'; it has: {string.Join(", ", result.Outputs.Keys)}.");
                }

                outputs.Add((name, tensor, OpenInferenceProtocolCodec.WantsBinary(root, output)));
            }
        }
        else
        {
            var binary = OpenInferenceProtocolCodec.WantsBinary(root, null);
            foreach (var (name, tensor) in result.Outputs) outputs.Add((name, tensor, binary));
        }

        var id = root.TryGetProperty("id", out var idElement) && idElement.ValueKind != JsonValueKind.Null ? idElement.ToString() : null;
        return new OpenInferenceProtocolResponse(id, result.ModelId, result.Version, outputs);
    }

    // One BYTES input to a model that takes no strings: texts for a text encoder (its tokenizer makes the model's inputs).
    private static bool IsTextInput(JsonElement root, ModelSignature? signature)
    {
        if (!root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array) return false;
        var first = inputs.GetArrayLength() > 0 && inputs[0].ValueKind == JsonValueKind.Object && inputs[0].TryGetProperty("datatype", out var type) && type.ValueKind == JsonValueKind.String
            ? type.GetString()
            : null;
        return OpenInferenceProtocolText.IsTextInput(inputs.GetArrayLength(), first, signature);
    }

    private static OipTensorMetadata Spec(TensorSpec spec) => new(spec.Name, spec.ElementType.GetDataTypeName(), spec.Shape);
}
