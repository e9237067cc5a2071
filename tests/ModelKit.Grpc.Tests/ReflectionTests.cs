using Grpc.Core;
using Grpc.Reflection.V1Alpha;

namespace ModelKit.Grpc.Tests;

/// <summary>Server reflection (what grpcurl and Postman use to discover services), behind a read key.</summary>
public sealed class ReflectionTests(GrpcSampleServer server) : IClassFixture<GrpcSampleServer>
{
    [Fact]
    public async Task ListServices_NamesEveryModelKitService_ForAReadKey()
    {
        var services = await ListAsync(server.Invoker(GrpcSampleServer.ReadOnlyKey));
        Assert.Contains("inference.GRPCInferenceService", services);
        Assert.Contains("grpc.health.v1.Health", services);

        var anonymous = await Assert.ThrowsAsync<RpcException>(() => ListAsync(server.Invoker(key: null)));
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
    }

    [Fact]
    public async Task UnknownMethod_IsUnimplemented()
    {
        var marshaller = Marshallers.Create<ModelKit.Grpc.Inference.ServerLiveRequest>(m => Google.Protobuf.MessageExtensions.ToByteArray(m), ModelKit.Grpc.Inference.ServerLiveRequest.Parser.ParseFrom);
        var method = new Method<ModelKit.Grpc.Inference.ServerLiveRequest, ModelKit.Grpc.Inference.ServerLiveRequest>(MethodType.Unary, "inference.GRPCInferenceService", "NoSuchMethod", marshaller, marshaller);
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Invoker().AsyncUnaryCall(method, null, new CallOptions(), new ModelKit.Grpc.Inference.ServerLiveRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    private static async Task<List<string>> ListAsync(CallInvoker invoker)
    {
        using var call = new ServerReflection.ServerReflectionClient(invoker).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return [.. call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name)];
    }
}
