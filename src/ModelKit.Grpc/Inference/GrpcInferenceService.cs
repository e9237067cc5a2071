using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelKit.AspNetCore;
using ModelKit.Grpc.Inference;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Tensors;
using ModelKit.Text;

namespace ModelKit.Grpc;

/// <summary>
/// The Open Inference Protocol's <c>inference.GRPCInferenceService</c>: each RPC one call into the same Core services as
/// REST's <c>/v2</c> (<see cref="IInferenceService"/>, <see cref="IModelRegistry"/>, the host's health checks). The call's
/// cancellation token (its deadline, or a client that leaves) flows into the scheduler.
/// </summary>
internal sealed partial class GrpcInferenceService(
    IInferenceService inference, IModelRegistry registry, HealthReports health, IHostApplicationLifetime lifetime, ModelKitRateLimiter limiter,
    ILogger<GrpcInferenceService> logger, IServiceProvider services)
    : GRPCInferenceService.GRPCInferenceServiceBase
{
    /// <summary>The parameter that asks for raw outputs when the inputs were typed (Triton's clients send raw inputs and get raw outputs).</summary>
    public const string RawOutputParameter = "raw_output";

    private static readonly string[] Extensions = ["binary_tensor_data"];

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override async Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context)
    {
        var report = await health.GetAsync(context.CancellationToken);
        return new ServerReadyResponse { Ready = report.Status != HealthStatus.Unhealthy };
    }

    // Ready when the model (its version) can run now: deployed and running, or served on demand. Unknown: NOT_FOUND.
    public override async Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        try
        {
            await inference.GetSignatureAsync(Required(request.Name, "name"), VersionOf(request.Version), context.CancellationToken);
            return new ModelReadyResponse { Ready = true };
        }
        catch (DeploymentNotRunningException)
        {
            return new ModelReadyResponse { Ready = false };
        }
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerMetadataResponse
        {
            Name = "modelkit",
            Version = typeof(GrpcInferenceService).Assembly.GetName().Version?.ToString(3) ?? string.Empty,
            Extensions = { Extensions },
        });

    public override async Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var name = Required(request.Name, "name");
        var model = await registry.GetModelAsync(name, context.CancellationToken);
        var version = model.FindVersion(VersionOf(request.Version))
            ?? throw new ModelNotFoundException($"Model '{name}' has no version '{request.Version}'.");
        var response = new ModelMetadataResponse
        {
            Name = model.Id,
            Platform = model.Framework == "onnx" ? "onnxruntime_onnx" : model.Framework,
        };
        response.Versions.AddRange(model.Versions.Select(v => v.Version));
        foreach (var input in version.Signature?.Inputs ?? []) response.Inputs.Add(Metadata(input));
        foreach (var output in version.Signature?.Outputs ?? []) response.Outputs.Add(Metadata(output));
        return response;
    }

    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context) =>
        InferAsync(request, context.CancellationToken);

    // Triton's streaming extension: requests are answered in order; one that fails is answered with its error message
    // and the stream goes on. The stream ends when the client ends its side, leaves, or the host stops.
    public override Task ModelStreamInfer(IAsyncStreamReader<ModelInferRequest> requestStream, IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context) =>
        ServerStreams.RunAsync(lifetime, context, async cancellationToken =>
        {
            var http = context.GetHttpContext();
            await foreach (var request in requestStream.ReadAllAsync(cancellationToken))
            {
                ModelStreamInferResponse answer;
                try
                {
                    limiter.Acquire(http); // each message is a request, as REST counts them (the call itself was counted once too)
                    answer = new ModelStreamInferResponse { InferResponse = await InferAsync(request, cancellationToken) };
                }
                catch (ModelKitException ex)
                {
                    answer = new ModelStreamInferResponse { ErrorMessage = $"{ex.ErrorCode}: {AspNetCore.ModelKitProblems.Bounded(ex.Message)}" };
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A bug answering one message: that message gets the request id to quote, the stream goes on.
                    LogStreamFailure(logger, http.TraceIdentifier, ex);
                    answer = new ModelStreamInferResponse
                    {
                        ErrorMessage = $"{ModelKitErrorCodes.InternalError}: An unexpected error occurred; the server's log has the details under request id '{http.TraceIdentifier}'.",
                    };
                }

                await responseStream.WriteAsync(answer, cancellationToken);
            }
        });

    private async Task<ModelInferResponse> InferAsync(ModelInferRequest request, CancellationToken cancellationToken)
    {
        var name = Required(request.ModelName, "model_name");
        var version = VersionOf(request.ModelVersion);
        var inputs = GrpcTensors.ReadInputs(request);
        var model = await inference.ResolveAsync(name, version, cancellationToken);

        // Texts for a text encoder take the embedding path; outputs asked for by name are checked before the model runs.
        var text = OpenInferenceProtocolText.IsTextInput(request.Inputs.Count, request.Inputs[0].Datatype, model.Signature)
            ? services.GetService<ITextEmbeddingService>()
            : null;
        if (text is null && model.Signature is { } signature)
        {
            foreach (var requested in request.Outputs)
            {
                if (!signature.Outputs.Any(o => o.Name == requested.Name))
                {
                    throw new InvalidInputException(
                        $"output '{requested.Name}' is not an output of model '{name}'; it has: {string.Join(", ", signature.Outputs.Select(o => o.Name))}.");
                }
            }
        }

        var result = text is not null
            ? await OpenInferenceProtocolText.EmbedAsync(text, model, inputs.Values.Single(), cancellationToken)
            : await inference.InferAsync(model, new InferenceRequest { ModelId = name, Version = version, Inputs = inputs }, cancellationToken);

        var outputs = new List<(string Name, Tensor Tensor)>();
        if (request.Outputs.Count > 0)
        {
            foreach (var requested in request.Outputs)
            {
                if (!result.Outputs.TryGetValue(requested.Name, out var tensor))
                {
                    throw new InvalidInputException($"output '{requested.Name}' is not an output of model '{name}'; it has: {string.Join(", ", result.Outputs.Keys)}.");
                }

                outputs.Add((requested.Name, tensor));
            }
        }
        else
        {
            foreach (var (outputName, tensor) in result.Outputs) outputs.Add((outputName, tensor));
        }

        // Raw outputs when the inputs came raw, when asked, or when an output has no typed field (FP16).
        var raw = request.RawInputContents.Count > 0
            || (request.Parameters.TryGetValue(RawOutputParameter, out var flag) && flag.BoolParam)
            || outputs.Exists(o => o.Tensor.ElementType == TensorElementType.Float16);
        var response = new ModelInferResponse { ModelName = result.ModelId, ModelVersion = result.Version, Id = request.Id };
        foreach (var (outputName, tensor) in outputs)
        {
            var output = new ModelInferResponse.Types.InferOutputTensor { Name = outputName, Datatype = tensor.ElementType.GetDataTypeName() };
            output.Shape.AddRange(tensor.Shape.ToArray());
            if (raw) response.RawOutputContents.Add(GrpcTensors.RawOf(tensor));
            else output.Contents = GrpcTensors.TypedOf(tensor);
            response.Outputs.Add(output);
        }

        return response;
    }

    private static ModelMetadataResponse.Types.TensorMetadata Metadata(TensorSpec spec)
    {
        var metadata = new ModelMetadataResponse.Types.TensorMetadata { Name = spec.Name, Datatype = spec.ElementType.GetDataTypeName() };
        foreach (var dimension in spec.Shape) metadata.Shape.Add(dimension < 0 ? -1 : dimension);
        return metadata;
    }

    private static string Required(string value, string field) =>
        string.IsNullOrEmpty(value) ? throw new InvalidInputException($"'{field}' is required: the model's id (ListModels or GET /v1/models lists them).") : value;

    private static string? VersionOf(string version) => string.IsNullOrEmpty(version) ? null : version;

    [LoggerMessage(EventId = 5001, Level = LogLevel.Error, Message = "Unhandled exception answering a ModelStreamInfer message (request id {RequestId}).")]
    private static partial void LogStreamFailure(ILogger logger, string requestId, Exception exception);
}
