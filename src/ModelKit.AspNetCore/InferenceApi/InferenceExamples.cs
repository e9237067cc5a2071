using Microsoft.AspNetCore.Http;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>
/// <c>GET /inference/examples</c>: requests that work against this server as it is, built from the signatures of the models
/// it serves (registered, ready, and resolvable: deployed and running, or served on demand). Each input gets a tensor of
/// its type and shape, dynamic dimensions set to 1 (the batch) and <see cref="DynamicLength"/> (the rest); values are 0,
/// except 1 in inputs named like masks (<c>attention_mask</c>), so that no position is masked out. Models with text inputs
/// (strings) are left out until the text endpoints (issue 11).
/// </summary>
internal static class InferenceExamples
{
    /// <summary>The length given to dynamic dimensions other than the first.</summary>
    public const int DynamicLength = 4;

    /// <summary>The most models examples are built for.</summary>
    public const int MaxModels = 20;

    // Inputs larger than this are not worth inlining in an example.
    private const long MaxElements = 16_384;

    public static async Task<List<InferenceExample>> BuildAsync(HttpRequest request, IModelRegistry registry, IInferenceService inference, CancellationToken cancellationToken)
    {
        var root = $"{request.PathBase}{SurfaceMap.PrefixOf(request)}";
        var page = await registry.ListModelsAsync(new ModelQuery { Status = ModelVersionStatus.Ready, Limit = MaxModels }, cancellationToken);
        var examples = new List<InferenceExample>();
        Dictionary<string, object>? firstBody = null;
        foreach (var model in page.Items)
        {
            Serving.IServedModel served;
            try
            {
                served = await inference.ResolveAsync(model.Id, cancellationToken: cancellationToken);
            }
            catch (ModelKitException)
            {
                continue; // registered but not servable here (not deployed, and on-demand serving is off)
            }

            if (served.Signature is not { } signature || Inputs(signature) is not { } data) continue;
            var body = new Dictionary<string, object>();
            if (model.Task is { } task) body["task"] = task;
            body["engine"] = CacheKeys.Engine;
            body["model_name"] = model.Id;
            body["data"] = data;
            body["options"] = new Dictionary<string, object>();
            firstBody ??= body;
            examples.Add(new InferenceExample($"infer {model.Id}",
                $"One request to '{model.Id}' (version {served.Version}): inputs {string.Join(", ", signature.Inputs.Select(i => $"{i.Name} {i.Describe()}"))}.",
                "POST", root + "/inference/infer", body));
            if (signature.Inputs.Count > 1)
            {
                var multimodal = new Dictionary<string, object>(body) { ["inputs"] = data };
                multimodal.Remove("data");
                examples.Add(new InferenceExample($"infer_multimodal {model.Id}", $"The legacy multimodal call: '{model.Id}''s {signature.Inputs.Count} inputs by name under 'inputs'.",
                    "POST", root + "/infer_multimodal", multimodal));
            }
        }

        if (firstBody is not null)
        {
            examples.Add(new InferenceExample("infer_fixed", "The legacy call: the body of /inference/infer, run with the fixed engine onnxruntime.", "POST", root + "/infer_fixed", firstBody));
            examples.Add(new InferenceExample("batch", "Two requests in one call, run one after another in order ('parallel': false).",
                "POST", root + "/inference/batch", new Dictionary<string, object> { ["requests"] = new[] { firstBody, firstBody }, ["parallel"] = false }));
            examples.Add(new InferenceExample("async", "The same request as a job: 202 with 'job_id' and 'status_url' to poll.", "POST", root + "/inference/async", firstBody));
        }

        return examples;
    }

    // The named inputs of an example request, or null when an input cannot be written as numbers (text) or is too large.
    private static Dictionary<string, object>? Inputs(ModelSignature signature)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var spec in signature.Inputs)
        {
            if (spec.ElementType == TensorElementType.String) return null;
            var shape = new long[spec.Shape.Count];
            long count = 1;
            for (var i = 0; i < shape.Length; i++)
            {
                shape[i] = spec.Shape[i] >= 0 ? spec.Shape[i] : i == 0 ? 1 : DynamicLength;
                count *= shape[i];
            }

            if (count > MaxElements) return null;
            var fill = spec.Name.Contains("mask", StringComparison.OrdinalIgnoreCase) ? 1 : 0;
            object values = spec.ElementType switch
            {
                TensorElementType.Bool => Enumerable.Repeat(fill == 1, (int)count).ToArray(),
                TensorElementType.Float32 or TensorElementType.Float16 or TensorElementType.Float64 => Enumerable.Repeat((double)fill, (int)count).ToArray(),
                _ => Enumerable.Repeat(fill, (int)count).ToArray(),
            };
            data[spec.Name] = new Dictionary<string, object> { ["shape"] = shape, ["datatype"] = spec.ElementType.GetDataTypeName(), ["data"] = values };
        }

        return data;
    }
}
