// The hand-written peer server (see HandWrittenPeer):
//   dotnet run -c Release --project benchmarks/peers/HandWrittenServer -- <model.onnx> <model_id> [--urls http://127.0.0.1:9100]
// With gRPC (ModelInfer) on an h2c port: --Kestrel:Endpoints:Rest:Url=http://127.0.0.1:9100 --Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:9110 --Kestrel:Endpoints:Grpc:Protocols=Http2
namespace ModelKit.Peers;

internal static class HandWrittenServer
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: HandWrittenServer <model.onnx> <model_id> [--urls http://127.0.0.1:9100]");
            return 2;
        }

        await using var app = HandWrittenPeer.Build(args[0], args[1], args[2..]);
        await app.RunAsync();
        return 0;
    }
}
