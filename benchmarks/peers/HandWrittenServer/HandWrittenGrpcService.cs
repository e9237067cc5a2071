using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelKit.Grpc.Inference;

namespace ModelKit.Peers;

/// <summary>
/// The hand-written server's gRPC side: the Open Inference Protocol's <c>ModelInfer</c> (compiled from ModelKit's own
/// <c>grpc_service.proto</c>, as a developer compiles KServe's), one <c>session.Run</c> per call on the shared session, no
/// batching, no auth. Inputs come as <c>raw_input_contents</c> (little-endian bytes, one entry per input) or as typed
/// contents; the output is answered the same way.
/// </summary>
internal sealed class HandWrittenGrpcService(HandWrittenModel model) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        if (request.ModelName != model.Id) throw new RpcException(new Status(StatusCode.NotFound, $"model '{request.ModelName}' is not served here"));
        var raw = request.RawInputContents.Count > 0;
        var names = new List<string>(request.Inputs.Count);
        var values = new List<OrtValue>(request.Inputs.Count);
        try
        {
            for (var i = 0; i < request.Inputs.Count; i++)
            {
                var input = request.Inputs[i];
                if (!model.Session.InputMetadata.TryGetValue(input.Name, out var meta))
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"the model has no input '{input.Name}'"));
                }

                names.Add(input.Name);
                var shape = input.Shape.ToArray();
                values.Add(meta.ElementDataType == TensorElementType.Int64
                    ? OrtValue.CreateTensorValueFromMemory(raw ? MemoryMarshal.Cast<byte, long>(request.RawInputContents[i].Span).ToArray() : input.Contents.Int64Contents.ToArray(), shape)
                    : OrtValue.CreateTensorValueFromMemory(raw ? MemoryMarshal.Cast<byte, float>(request.RawInputContents[i].Span).ToArray() : input.Contents.Fp32Contents.ToArray(), shape));
            }

            using var runOptions = new RunOptions();
            using var results = model.Session.Run(runOptions, names, values, [model.Output]);
            var tensor = results[0];
            var output = new ModelInferResponse.Types.InferOutputTensor { Name = model.Output, Datatype = "FP32", Shape = { tensor.GetTensorTypeAndShape().Shape } };
            var response = new ModelInferResponse { ModelName = model.Id, Id = request.Id, Outputs = { output } };
            var data = tensor.GetTensorDataAsSpan<float>();
            if (raw) response.RawOutputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(data)));
            else output.Contents = new InferTensorContents { Fp32Contents = { data.ToArray() } };
            return Task.FromResult(response);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }
}

/// <summary>The one model the hand-written server serves, shared by its REST and gRPC endpoints.</summary>
internal sealed record HandWrittenModel(string Id, InferenceSession Session, string Output);
