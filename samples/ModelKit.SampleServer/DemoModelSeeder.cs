using ModelKit.Deployments;
using ModelKit.ModelGenerator;
using ModelKit.Registry;

namespace ModelKit.SampleServer;

/// <summary>
/// On start: writes the generated demo models (no download), registers them when the registry lacks them, and
/// deploys each one that has no deployment yet. Saved deployments come back on their own (restored by ModelKit).
/// </summary>
internal sealed partial class DemoModelSeeder(IModelRegistry registry, IDeploymentManager deployments, IConfiguration configuration, ILogger<DemoModelSeeder> logger)
    : IHostedService
{
    public static readonly (string Id, string Name, string Task, Func<byte[]> Create)[] Models =
    [
        ("demo-mlp", "Demo MLP 64→256→10", "classification", () => DemoModels.CreateMlp()),
        ("demo-bert", "Demo BERT-style encoder (2 layers, hidden 128)", "feature-extraction", () => DemoModels.CreateBertEncoder()),
    ];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!configuration.GetValue("ModelKit:DeployDemoModels", true)) return;
        foreach (var (id, name, task, create) in Models)
        {
            if (await registry.FindModelAsync(id, cancellationToken) is null)
            {
                using var stream = new MemoryStream(create());
                await registry.RegisterAsync(new ModelDefinition { Id = id, Name = name, Task = task, Tags = ["demo", "generated"] }, stream, id + ".onnx", cancellationToken: cancellationToken);
                LogRegistered(logger, id);
            }

            if (deployments.ListDeployments().Any(d => d.ModelId == id)) continue;
            await deployments.DeployAsync(new DeploymentSpec
            {
                DeploymentId = id,
                ModelId = id,
                Replicas = 2,
                MinReplicas = 1,
                MaxReplicas = 4,
                Batching = new() { MaxBatchSize = 64, MaxQueueDelay = TimeSpan.FromMilliseconds(1) },
            }, cancellationToken);
            LogDeploying(logger, id);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(1, LogLevel.Information, "Registered demo model {ModelId}.")]
    private static partial void LogRegistered(ILogger logger, string modelId);

    [LoggerMessage(2, LogLevel.Information, "Deploying demo model {ModelId} (2 replicas, autoscaling 1..4).")]
    private static partial void LogDeploying(ILogger logger, string modelId);
}
