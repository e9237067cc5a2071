using Microsoft.AspNetCore.Http;
using ModelKit.Inference;
using ModelKit.Tensors;

namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>Seed 003's handlers: each is one Core call plus the seed's wire shapes. This part: inference (one, batch, legacy).</summary>
internal static partial class InferenceApiHandlers
{
    /// <summary><c>POST /inference/infer</c> and <c>POST /infer_fixed</c> (the same call; the engine is fixed to ONNX Runtime).</summary>
    public static async Task<IResult> InferAsync(HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<InferRequestBody>(context.Request, context.RequestAborted);
        return await RunAsync(body, multimodal: false, context, inference);
    }

    /// <summary><c>POST /infer_multimodal</c>: one named input per modality (<c>inputs</c>, or <c>data</c> as an object).</summary>
    public static async Task<IResult> InferMultimodalAsync(HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<InferRequestBody>(context.Request, context.RequestAborted);
        return await RunAsync(body, multimodal: true, context, inference);
    }

    private static async Task<IResult> RunAsync(InferRequestBody body, bool multimodal, HttpContext context, IInferenceService inference)
    {
        var (model, request) = await InferRequests.ToRequestAsync(body, inference, context.RequestAborted, multimodal);
        var result = await inference.InferAsync(model, request, context.RequestAborted);
        return ModelKitJson.Json(new InferResponse
        {
            Success = true,
            Task = body.Task,
            Engine = CacheKeys.Engine,
            ModelName = result.ModelId,
            ModelVersion = result.Version,
            Result = ResultOf(result),
            ProcessingTime = result.Duration.TotalSeconds,
            RequestId = context.TraceIdentifier,
            Timestamp = InferenceApiClock.Now(context),
        });
    }

    /// <summary>
    /// <c>POST /inference/batch</c>: each item is read on its own (a bad one fails alone, in its place, and still counts),
    /// then the core runs them, in order one after another (<c>parallel</c> false or absent, the seed's default) or queued
    /// together; the summary is the core's.
    /// </summary>
    public static async Task<IResult> BatchAsync(HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<BatchRequestBody>(context.Request, context.RequestAborted);
        var bodies = body.Requests ?? throw new InvalidInputException("'requests' is required: 1 to 100 inference requests.");
        if (bodies.Count is 0 or > InferenceBatchResult.MaxItems)
        {
            throw new InvalidInputException($"'requests' must hold 1 to {InferenceBatchResult.MaxItems} requests (was {bodies.Count}).");
        }

        var items = new InferenceBatchItem[bodies.Count];
        for (var i = 0; i < items.Length; i++)
        {
            try
            {
                var item = bodies[i] ?? throw new InvalidInputException($"Request {i} is null; each item must be an object with 'model_name' and 'data'.");
                items[i] = InferenceBatchItem.Of((await InferRequests.ToRequestAsync(item, inference, context.RequestAborted, timeout: body.Timeout, priority: body.Priority)).Request);
            }
            catch (ModelKitException ex)
            {
                items[i] = InferenceBatchItem.Failed(ex);
            }
        }

        var parallel = body.Parallel == true;
        var batch = await inference.InferManyAsync(items, sequential: !parallel, context.RequestAborted);
        var results = new List<BatchResultItem>(batch.Total);
        for (var i = 0; i < batch.Total; i++)
        {
            if (batch.Items[i].Result is { } result)
            {
                results.Add(new BatchResultItem
                {
                    Index = i,
                    Success = true,
                    Result = ResultOf(result),
                    ModelName = result.ModelId,
                    ModelVersion = result.Version,
                    ProcessingTime = result.Duration.TotalSeconds,
                });
                continue;
            }

            var (code, type) = CodeOf(batch.Items[i].Error);
            results.Add(new BatchResultItem
            {
                Index = i,
                Success = false,
                Error = batch.Items[i].Error is ModelKitException known ? ModelKitProblems.Bounded(known.Message) : $"Item {i} failed unexpectedly; the server's log has the details.",
                Code = code,
                Type = type,
                Task = bodies[i]?.Task,
                ModelName = bodies[i] is { } named ? named.ModelName ?? named.ModelId : null,
            });
        }

        return ModelKitJson.Json(new BatchResponse
        {
            Success = true,
            Summary = new BatchResponseSummary(batch.Total, batch.Succeeded, batch.Failed, batch.SuccessRate),
            Results = results,
            TotalProcessingTime = batch.TotalTime.TotalSeconds,
            AverageTimePerRequest = batch.AverageTimePerRequest.TotalSeconds,
            Parallel = parallel,
            Timestamp = InferenceApiClock.Now(context),
        });
    }

    internal static InferResult ResultOf(InferenceResult result) => new(TensorJson.WriteOutputs(result.Outputs));

    // An item's error as the surface's error responses name it.
    private static (string Code, string Type) CodeOf(Exception? error)
    {
        if (error is not ModelKitException known) return (ModelKitErrorCodes.InternalError, InferenceApiErrors.TypeOf(ModelKitErrorCodes.InternalError));
        var code = InferenceApiErrors.SeedCode(known.ErrorCode);
        return (code, known is UnsupportedEngineException ? "UnsupportedEngineError" : InferenceApiErrors.TypeOf(code));
    }
}
