using ModelKit.Inference;
using ModelKit.Serving;
using ModelKit.Tensors;

namespace ModelKit.AspNetCore;

/// <summary>Inference bodies (seed 000's and seed 003's) as Core requests.</summary>
internal static class InferenceBodies
{
    // The body of every inference endpoint as a request for the model it resolves to (once): its signature types the JSON inputs.
    public static async Task<(IServedModel Model, InferenceRequest Request)> ToRequestAsync(string modelId, InferenceBody body, IInferenceService inference, CancellationToken cancellationToken)
    {
        InferenceApi.UnsupportedEngineException.Check(body.Engine);
        var model = await inference.ResolveAsync(modelId, body.Version, cancellationToken);
        var signature = model.Signature;
        return (model, new InferenceRequest
        {
            ModelId = modelId,
            Version = body.Version,
            Inputs = TensorJson.ReadInputs(body.InputData ?? body.Data, signature),
            Priority = Parse.Priority(body.Priority),
            Timeout = Parse.Timeout(body.Timeout),
            Task = body.Task,
        });
    }
}
