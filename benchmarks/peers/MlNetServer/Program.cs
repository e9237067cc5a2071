// The ML.NET peer server (see MlNetPeer):
//   dotnet run -c Release --project benchmarks/peers/MlNetServer -- <model.onnx> <model_id> [--urls http://127.0.0.1:9103]
namespace ModelKit.Peers;

internal static class MlNetServer
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: MlNetServer <model.onnx> <model_id> [--urls http://127.0.0.1:9103]");
            return 2;
        }

        await using var app = MlNetPeer.Build(args[0], args[1], args[2..]);
        await app.RunAsync();
        return 0;
    }
}
