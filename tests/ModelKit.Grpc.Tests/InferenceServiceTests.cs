using System.Runtime.InteropServices;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Grpc.Inference;
using ModelKit.Grpc.Tests.Health;
using ModelKit.Inference;
using ModelKit.Tensors;

namespace ModelKit.Grpc.Tests;

/// <summary>
/// The Open Inference Protocol's <c>inference.GRPCInferenceService</c> through a real gRPC channel (stubs compiled from
/// the shipped .proto) against the sample server on Kestrel, answers compared with the in-process inference service.
/// </summary>
public sealed class InferenceServiceTests(GrpcSampleServer server) : IClassFixture<GrpcSampleServer>, IAsyncLifetime
{
    private const string Mlp = "demo-mlp";
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client = new(server.Invoker());

    private static readonly float[] Row = [.. Enumerable.Range(0, 64).Select(i => MathF.Sin(i) * 0.5f)];

    public Task InitializeAsync() => server.WaitUntilRunningAsync(Mlp);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task HealthAndMetadata_DescribeTheServerAndTheModel()
    {
        Assert.True((await _client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await _client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        var server = await _client.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.Equal("modelkit", server.Name);
        Assert.False(string.IsNullOrEmpty(server.Version));

        var metadata = await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = Mlp });
        Assert.Equal((Mlp, "onnxruntime_onnx"), (metadata.Name, metadata.Platform));
        Assert.Contains("1", metadata.Versions);
        var input = Assert.Single(metadata.Inputs);
        Assert.Equal(("x", "FP32"), (input.Name, input.Datatype));
        Assert.Equal([-1L, 64L], input.Shape);
        Assert.True((await _client.ModelReadyAsync(new ModelReadyRequest { Name = Mlp, Version = "1" })).Ready);
    }

    [Fact]
    public async Task ModelInfer_TypedAndRaw_GiveTheInProcessAnswer()
    {
        var expected = await server.Services.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest
        {
            ModelId = Mlp,
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Row, 1, 64) },
        });
        var logits = expected.Outputs["logits"].ToArray<float>();

        var typed = Input();
        typed.Contents = new InferTensorContents { Fp32Contents = { Row } };
        var request = new ModelInferRequest { ModelName = Mlp, Id = "req-7", Inputs = { typed }, Outputs = { new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "logits" } } };
        var response = await _client.ModelInferAsync(request);
        Assert.Equal(("req-7", Mlp, "1"), (response.Id, response.ModelName, response.ModelVersion));
        var output = Assert.Single(response.Outputs);
        Assert.Equal(("logits", "FP32"), (output.Name, output.Datatype));
        Assert.Equal([1L, logits.Length], output.Shape);
        Assert.Equal(logits, output.Contents.Fp32Contents);
        Assert.Empty(response.RawOutputContents);

        // Raw in, raw out: the same floats as little-endian bytes.
        var raw = new ModelInferRequest { ModelName = Mlp, Inputs = { Input() }, RawInputContents = { ByteString.CopyFrom(MemoryMarshal.AsBytes(Row.AsSpan())) } };
        var rawResponse = await _client.ModelInferAsync(raw);
        Assert.Null(Assert.Single(rawResponse.Outputs).Contents);
        Assert.Equal(logits, MemoryMarshal.Cast<byte, float>(Assert.Single(rawResponse.RawOutputContents).Span).ToArray());
    }

    [Fact]
    public async Task ModelStreamInfer_AnswersEachRequestInOrder_AFailedOneWithItsError()
    {
        using var call = _client.ModelStreamInfer();
        var good = new ModelInferRequest { ModelName = Mlp, Id = "a", Inputs = { Input() }, RawInputContents = { ByteString.CopyFrom(MemoryMarshal.AsBytes(Row.AsSpan())) } };
        await call.RequestStream.WriteAsync(good);
        await call.RequestStream.WriteAsync(new ModelInferRequest { ModelName = "no-such-model", Id = "b", Inputs = { Input() }, RawInputContents = { good.RawInputContents[0] } });
        await call.RequestStream.WriteAsync(good.Clone().Also(r => r.Id = "c"));
        await call.RequestStream.CompleteAsync();

        var answers = new List<ModelStreamInferResponse>();
        await foreach (var answer in call.ResponseStream.ReadAllAsync()) answers.Add(answer);
        Assert.Equal(3, answers.Count);
        Assert.Equal("a", answers[0].InferResponse.Id);
        Assert.StartsWith("MODEL_NOT_FOUND: ", answers[1].ErrorMessage, StringComparison.Ordinal);
        Assert.Null(answers[1].InferResponse);
        Assert.Equal("c", answers[2].InferResponse.Id);
    }

    [Fact]
    public async Task GrpcHealth_ReportsServing_ForTheServerEachServiceAndEachModel()
    {
        var health = new ModelKit.Grpc.Tests.Health.Health.HealthClient(server.Invoker(key: null));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "inference.GRPCInferenceService" })).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "model.ModelService" })).Status);

        // A model's health says whether it exists: it needs a key with the read scope, as ModelReady does.
        var anonymous = await Assert.ThrowsAsync<RpcException>(() => health.CheckAsync(new HealthCheckRequest { Service = Mlp }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        var reader = new ModelKit.Grpc.Tests.Health.Health.HealthClient(server.Invoker(GrpcSampleServer.ReadOnlyKey));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await reader.CheckAsync(new HealthCheckRequest { Service = Mlp })).Status);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => reader.CheckAsync(new HealthCheckRequest { Service = "no-such-model" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);

        // Watch sends the current status at once.
        using var watch = reader.Watch(new HealthCheckRequest { Service = Mlp });
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task BadRequests_AreInvalidArgument_NamingWhatIsWrong()
    {
        var bytes = ByteString.CopyFrom(MemoryMarshal.AsBytes(Row.AsSpan()));

        var unknown = await FailsAsync(new ModelInferRequest { ModelName = "no-such-model", Inputs = { Input() }, RawInputContents = { bytes } }, StatusCode.NotFound);
        Assert.Equal("MODEL_NOT_FOUND", ErrorInfo(unknown).Reason);
        Assert.Equal("modelkit", ErrorInfo(unknown).Domain);

        var wrongType = Input();
        wrongType.Datatype = "INT64";
        wrongType.Contents = new InferTensorContents { Int64Contents = { Enumerable.Repeat(1L, 64) } };
        var error = await FailsAsync(new ModelInferRequest { ModelName = Mlp, Inputs = { wrongType } }, StatusCode.InvalidArgument);
        Assert.Contains("x", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("INVALID_INPUT", ErrorInfo(error).Reason);

        var wrongShape = Input();
        wrongShape.Shape.Clear();
        wrongShape.Shape.AddRange([1, 32]);
        wrongShape.Contents = new InferTensorContents { Fp32Contents = { Row[..32] } };
        await FailsAsync(new ModelInferRequest { ModelName = Mlp, Inputs = { wrongShape } }, StatusCode.InvalidArgument);

        error = await FailsAsync(new ModelInferRequest { ModelName = Mlp, Inputs = { Input() }, RawInputContents = { bytes.Span[..200].ToArray().Let(ByteString.CopyFrom) } }, StatusCode.InvalidArgument);
        Assert.Contains("needs 256 bytes but got 200", error.Status.Detail, StringComparison.Ordinal);

        var both = Input();
        both.Contents = new InferTensorContents { Fp32Contents = { Row } };
        error = await FailsAsync(new ModelInferRequest { ModelName = Mlp, Inputs = { both }, RawInputContents = { bytes } }, StatusCode.InvalidArgument);
        Assert.Contains("typed contents and the request has raw_input_contents", error.Status.Detail, StringComparison.Ordinal);

        var misplaced = Input();
        misplaced.Contents = new InferTensorContents { Fp64Contents = { Row.Select(v => (double)v) } };
        error = await FailsAsync(new ModelInferRequest { ModelName = Mlp, Inputs = { misplaced } }, StatusCode.InvalidArgument);
        Assert.Contains("contents.fp32_contents", error.Status.Detail, StringComparison.Ordinal);

        var lowercase = Input();
        lowercase.Datatype = "fp32";
        await FailsAsync(new ModelInferRequest { ModelName = Mlp, Inputs = { lowercase }, RawInputContents = { bytes } }, StatusCode.InvalidArgument);

        // Shapes are the client's word: a tiny request declaring billions of elements is refused before any allocation.
        var huge = new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "BYTES", Shape = { 2_000_000_000 } };
        error = await FailsAsync(new ModelInferRequest { ModelName = Mlp, Inputs = { huge }, RawInputContents = { ByteString.Empty } }, StatusCode.InvalidArgument);
        Assert.Contains("BYTES elements but 0 bytes cannot hold them", error.Status.Detail, StringComparison.Ordinal);
        var overflow = new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 4_294_967_296, 4_294_967_296 } };
        error = await FailsAsync(new ModelInferRequest { ModelName = Mlp, Inputs = { overflow }, RawInputContents = { ByteString.Empty } }, StatusCode.InvalidArgument);
        Assert.Contains("more elements than one tensor can hold", error.Status.Detail, StringComparison.Ordinal);
        var wraps = new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 4_611_686_018_427_387_904 } };
        await FailsAsync(new ModelInferRequest { ModelName = Mlp, Inputs = { wraps }, RawInputContents = { ByteString.Empty } }, StatusCode.InvalidArgument);
        overflow.Contents = new InferTensorContents();
        await FailsAsync(new ModelInferRequest { ModelName = Mlp, Inputs = { overflow.Clone().Also(i => i.Contents = new InferTensorContents { Fp32Contents = { 1f } }) } }, StatusCode.InvalidArgument);
        var output = new ModelInferRequest { ModelName = Mlp, Inputs = { Input() }, RawInputContents = { bytes }, Outputs = { new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "nope" } } };
        error = await FailsAsync(output, StatusCode.InvalidArgument);
        Assert.Contains("output 'nope' is not an output of model 'demo-mlp'; it has: logits", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysScopesDeadlinesAndSizes_AreEnforced()
    {
        var request = new ModelInferRequest { ModelName = Mlp, Inputs = { Input() }, RawInputContents = { ByteString.CopyFrom(MemoryMarshal.AsBytes(Row.AsSpan())) } };

        var anonymous = new GRPCInferenceService.GRPCInferenceServiceClient(server.Invoker(key: null));
        var error = await Assert.ThrowsAsync<RpcException>(() => anonymous.ModelInferAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("An API key is required", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("UNAUTHORIZED", ErrorInfo(error).Reason); // the refusal carries ModelKit's details too
        Assert.True((await anonymous.ServerLiveAsync(new ServerLiveRequest())).Live); // probes stay open

        var reader = new GRPCInferenceService.GRPCInferenceServiceClient(server.Invoker(GrpcSampleServer.ReadOnlyKey));
        error = await Assert.ThrowsAsync<RpcException>(() => reader.ModelInferAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("FORBIDDEN", ErrorInfo(error).Reason);
        Assert.Equal(Mlp, (await reader.ModelMetadataAsync(new ModelMetadataRequest { Name = Mlp })).Name);

        var wrong = new GRPCInferenceService.GRPCInferenceServiceClient(server.Invoker("not-a-key"));
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => wrong.ModelInferAsync(request).ResponseAsync)).StatusCode);

        error = await Assert.ThrowsAsync<RpcException>(() => _client.ModelInferAsync(request, deadline: DateTime.UtcNow.AddMilliseconds(-1)).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);

        // Over the server's message limit (1 MiB here): RESOURCE_EXHAUSTED, and the server goes on.
        var big = Input();
        big.Shape[0] = 5000;
        var tooLarge = new ModelInferRequest { ModelName = Mlp, Inputs = { big }, RawInputContents = { ByteString.CopyFrom(new byte[5000 * 64 * 4]) } };
        Assert.Equal(StatusCode.ResourceExhausted, (await Assert.ThrowsAsync<RpcException>(() => _client.ModelInferAsync(tooLarge).ResponseAsync)).StatusCode);
        Assert.Single((await _client.ModelInferAsync(request)).RawOutputContents);
    }

    private static ModelInferRequest.Types.InferInputTensor Input() => new() { Name = "x", Datatype = "FP32", Shape = { 1, 64 } };

    private async Task<RpcException> FailsAsync(ModelInferRequest request, StatusCode expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _client.ModelInferAsync(request).ResponseAsync);
        Assert.True(expected == error.StatusCode, $"expected {expected}, got {error.StatusCode}: {error.Status.Detail}");
        return error;
    }

    private static ErrorInfo ErrorInfo(RpcException error) =>
        error.GetRpcStatus()?.GetDetail<ErrorInfo>() ?? throw new Xunit.Sdk.XunitException("no google.rpc.Status with ErrorInfo in the trailers");
}

internal static class Fluent
{
    public static T Also<T>(this T value, Action<T> action)
    {
        action(value);
        return value;
    }

    public static TResult Let<T, TResult>(this T value, Func<T, TResult> map) => map(value);
}
