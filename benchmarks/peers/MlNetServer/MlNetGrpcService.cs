using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using ModelKit.Grpc.Inference;

namespace ModelKit.Peers;

/// <summary>
/// The ML.NET server's gRPC side: the Open Inference Protocol's <c>ModelInfer</c> (compiled from ModelKit's own
/// <c>grpc_service.proto</c>) for the one float input, a pooled prediction engine, one <c>Predict</c> per row. The rows
/// come as <c>raw_input_contents</c> (little-endian floats) or as typed contents; the output is answered the same way.
/// </summary>
internal sealed class MlNetGrpcService(MlNetModel model) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        if (request.ModelName != model.Id) throw new RpcException(new Status(StatusCode.NotFound, $"model '{request.ModelName}' is not served here"));
        if (request.Inputs.Count != 1) throw new RpcException(new Status(StatusCode.InvalidArgument, "the model has one input"));
        var raw = request.RawInputContents.Count > 0;
        var values = raw ? MemoryMarshal.Cast<byte, float>(request.RawInputContents[0].Span) : request.Inputs[0].Contents.Fp32Contents.ToArray();
        if (values.Length % model.InputSize != 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{values.Length} values are not rows of {model.InputSize}"));
        }

        var rows = values.Length / model.InputSize;
        var data = new float[rows * model.OutputSize];
        var engine = model.Engines.Get();
        try
        {
            for (var i = 0; i < rows; i++)
            {
                var row = new MlNetPeer.Row { Features = values.Slice(i * model.InputSize, model.InputSize).ToArray() };
                engine.Predict(row).Scores.CopyTo(data, i * model.OutputSize);
            }
        }
        finally
        {
            model.Engines.Return(engine);
        }

        var output = new ModelInferResponse.Types.InferOutputTensor { Name = model.Output, Datatype = "FP32", Shape = { rows, model.OutputSize } };
        var response = new ModelInferResponse { ModelName = model.Id, Id = request.Id, Outputs = { output } };
        if (raw) response.RawOutputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan())));
        else output.Contents = new InferTensorContents { Fp32Contents = { data } };
        return Task.FromResult(response);
    }
}

/// <summary>The one model the ML.NET server serves, shared by its REST and gRPC endpoints.</summary>
internal sealed record MlNetModel(string Id, ObjectPool<PredictionEngine<MlNetPeer.Row, MlNetPeer.Prediction>> Engines, int InputSize, int OutputSize, string Output);
