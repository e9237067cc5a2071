using Microsoft.AspNetCore.Hosting;
using ModelKit.LocalHub;
using ModelKit.ModelGenerator;

namespace ModelKit.Tests;

/// <summary>
/// The sample server on Kestrel with a local Hugging Face-compatible hub (<see cref="LocalHubServer"/>, real sockets)
/// as its model hub. The hub holds the real all-MiniLM-L6-v2 in the hub's layout, and a generated stand-in under seed
/// 004's example id <c>microsoft/DialoGPT-medium</c> (marked <c>stand-in</c> in its tags), so that the seed's download
/// example runs verbatim, and a generated MLP as <c>modelkit/demo-mlp</c> (never registered at start: deployed from the hub).
/// </summary>
public sealed class HubSampleServerFactory : KestrelSampleServerFactory
{
    /// <summary>Seed 004's example model id.</summary>
    public const string DialoGpt = "microsoft/DialoGPT-medium";

    // Field initialisers run before the base constructor starts the server, which reads HubEndpoint (and so starts the hub).
    private readonly TempDirectory _hubRoot = new();
    private LocalHubServer? _hub;

    /// <summary>The hub's directory of repositories (tests may change files: the hub's commits follow).</summary>
    public string HubRoot => _hubRoot.Path;

    /// <summary>The hub (its faults and counters are the tests' to set).</summary>
    public LocalHubServer Hub => _hub ?? throw new InvalidOperationException("The hub did not start.");

    protected override string HubEndpoint => StartedHub().Endpoint.AbsoluteUri;

    private LocalHubServer StartedHub()
    {
        if (_hub is not null) return _hub;
        LocalHubSeeds.SeedMiniLm(_hubRoot.Path);
        var repo = Path.Combine(_hubRoot.Path, "microsoft", "DialoGPT-medium");
        Directory.CreateDirectory(repo);
        File.WriteAllBytes(Path.Combine(repo, "model.onnx"), DemoModels.CreateMlp(new MlpSpec { Seed = 17 }));
        File.WriteAllText(Path.Combine(repo, ".hub.json"), """{"pipeline_tag": "conversational", "library_name": "onnx", "tags": ["conversational", "stand-in"], "downloads": 0, "likes": 0}""");
        var mlp = Path.Combine(_hubRoot.Path, "modelkit", "demo-mlp");
        Directory.CreateDirectory(mlp);
        File.WriteAllBytes(Path.Combine(mlp, "model.onnx"), DemoModels.CreateMlp(new MlpSpec { Seed = 23 }));
        _hub = LocalHubServer.StartAsync(new LocalHubOptions { Root = _hubRoot.Path }).GetAwaiter().GetResult();
        return _hub;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        // Seed 001's model_type + model_size "minilm" + "l6" names the real MiniLM on the hub.
        builder.UseSetting("ModelKit:Downloads:Catalogue:minilm-l6:Repository", LocalHubSeeds.MiniLmRepoId);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _hub?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _hubRoot.Dispose();
        }
    }
}
