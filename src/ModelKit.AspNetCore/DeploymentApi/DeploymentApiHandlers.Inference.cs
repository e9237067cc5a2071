using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ModelKit.Inference;
using ModelKit.Serving;

namespace ModelKit.AspNetCore;

// Seed 000's inference and batch inference.
internal static partial class DeploymentApiHandlers
{
    public static async Task<IResult> InferenceAsync(string model_id, HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<InferenceBody>(context.Request, context.RequestAborted);
        var (model, request) = await InferenceBodies.ToRequestAsync(model_id, body, inference, context.RequestAborted);
        var result = await inference.InferAsync(model, request, context.RequestAborted);
        return new DeploymentInferenceAnswer(result, context.TraceIdentifier);
    }

    // Each item is read on its own and a bad one fails alone, in its place (error instead of output_data); when no item
    // can run at all, the whole request is the client's mistake and answers in the error shape with each item's reason.
    public static async Task<IResult> BatchInferenceAsync(string model_id, HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<BatchInferenceBody>(context.Request, context.RequestAborted);
        var bodies = body.Requests ?? throw new InvalidInputException("'requests' is required: an array of {\"input_data\": …} objects.");
        if (bodies.Count is 0 or > InferenceBatchResult.MaxItems)
        {
            throw new InvalidInputException($"'requests' must hold 1 to {InferenceBatchResult.MaxItems} {{\"input_data\": …}} objects (had {bodies.Count}).");
        }

        var items = new InferenceBatchItem[bodies.Count];
        var failures = new List<(int Index, ModelKitException Error)>();
        for (var i = 0; i < items.Length; i++)
        {
            try
            {
                if (bodies[i] is not { } item) throw new InvalidInputException($"Request {i} is null; each item must be an object with 'input_data'.");
                item = item with { Timeout = item.Timeout ?? body.Timeout, Priority = item.Priority ?? body.Priority };
                items[i] = InferenceBatchItem.Of((await InferenceBodies.ToRequestAsync(model_id, item, inference, context.RequestAborted)).Request);
            }
            catch (ModelKitException ex)
            {
                items[i] = InferenceBatchItem.Failed(ex);
                failures.Add((i, ex));
            }
        }

        if (failures.Count == items.Length)
        {
            var code = failures.TrueForAll(f => f.Error.ErrorCode == failures[0].Error.ErrorCode) ? failures[0].Error.ErrorCode : ModelKitErrorCodes.InvalidInput;
            var details = new Dictionary<string, object?>
            {
                ["failed_requests"] = failures.Take(10).Select(f => new { index = f.Index, code = f.Error.ErrorCode, message = ModelKitProblems.Bounded(f.Error.Message) }).ToList(),
            };
            var message = $"None of the {items.Length} requests can run; request {failures[0].Index}: {failures[0].Error.Message}";
            return DeploymentApiErrors.Writer(context, new SurfaceError(ModelKitProblems.StatusFor(code), code, ModelKitProblems.Bounded(message), Details: details));
        }

        var batch = await inference.InferManyAsync(items, sequential: false, context.RequestAborted);
        var results = new List<DeploymentInferenceResult>(batch.Total);
        for (var i = 0; i < batch.Total; i++)
        {
            var requestId = $"{context.TraceIdentifier}-{i}";
            results.Add(batch.Items[i].Result is { } result
                ? DeploymentInferenceResult.From(result, requestId)
                : new DeploymentInferenceResult { RequestId = requestId, ModelId = model_id, Timestamp = DateTimeOffset.UtcNow, Error = ErrorOf(i, batch.Items[i].Error) });
        }

        return ModelKitJson.Json(results);

        static DeploymentError ErrorOf(int index, Exception? error) => error is ModelKitException known
            ? new DeploymentError { Code = known.ErrorCode, Message = ModelKitProblems.Bounded(known.Message) }
            : new DeploymentError { Code = ModelKitErrorCodes.InternalError, Message = $"Request {index} failed unexpectedly." };
    }
}
