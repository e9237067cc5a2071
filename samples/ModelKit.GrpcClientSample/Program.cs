// A gRPC client of ModelKit, with stubs generated from the .proto files the ModelKit.Grpc package ships: the Open
// Inference Protocol (metadata, inference with raw tensor contents) against the sample server's demo MLP.
// Usage: dotnet run --project samples/ModelKit.GrpcClientSample -- [address] [api-key]
//        (defaults: http://localhost:8081, the sample server's h2c port, and its sample admin key)
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using ModelKit.Grpc.Inference;

var address = args.Length > 0 ? args[0] : "http://localhost:8081";
var key = args.Length > 1 ? args[1] : "modelkit-sample-key-change-me";
using var channel = GrpcChannel.ForAddress(address);
var headers = new Metadata { { "x-api-key", key } };
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

var inference = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
var server = await inference.ServerMetadataAsync(new ServerMetadataRequest(), headers, cancellationToken: timeout.Token);
Console.WriteLine($"server: {server.Name} {server.Version}");

var metadata = await inference.ModelMetadataAsync(new ModelMetadataRequest { Name = "demo-mlp" }, headers, cancellationToken: timeout.Token);
var input = metadata.Inputs[0];
Console.WriteLine($"demo-mlp ({metadata.Platform}): input {input.Name} {input.Datatype} [{string.Join(", ", input.Shape)}] → output {metadata.Outputs[0].Name}");

// One row of 64 floats, sent as raw little-endian bytes; the answer comes back raw too.
var row = new float[64];
for (var i = 0; i < row.Length; i++) row[i] = MathF.Sin(i) * 0.5f;
var request = new ModelInferRequest
{
    ModelName = "demo-mlp",
    Id = "sample-1",
    Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = "FP32", Shape = { 1, 64 } } },
    RawInputContents = { ByteString.CopyFrom(MemoryMarshal.AsBytes(row.AsSpan())) },
};
var response = await inference.ModelInferAsync(request, headers, cancellationToken: timeout.Token);
var logits = MemoryMarshal.Cast<byte, float>(response.RawOutputContents[0].Span).ToArray();
var best = Array.IndexOf(logits, logits.Max());
Console.WriteLine($"ModelInfer {response.Id}: {response.ModelName} v{response.ModelVersion}, {logits.Length} logits, the largest at class {best}");

// A mistake comes back as a status with ModelKit's code in its details.
try
{
    await inference.ModelInferAsync(new ModelInferRequest { ModelName = "no-such-model", Inputs = { request.Inputs }, RawInputContents = { request.RawInputContents } },
        headers, cancellationToken: timeout.Token);
}
catch (RpcException ex)
{
    Console.WriteLine($"unknown model: {ex.StatusCode} ({ex.Status.Detail})");
}
