using System.Text.Json;
using System.Text.Json.Serialization;
using ModelKit.Scheduling;

namespace ModelKit.Deployments;

/// <summary>What is kept of a deployment across restarts: its settings and whether it should run.</summary>
internal sealed record PersistedDeployment
{
    public required string DeploymentId { get; init; }
    public required string ModelId { get; init; }
    public required string Version { get; init; }
    public required string Device { get; init; }
    public int Replicas { get; init; }
    public int MinReplicas { get; init; }
    public int MaxReplicas { get; init; }
    public int TargetQueueDepth { get; init; }
    public long? MemoryRequestBytes { get; init; }
    public int MaxBatchSize { get; init; }
    public double MaxQueueDelayMs { get; init; }
    public int MaxQueueSize { get; init; }
    public bool InlineExecution { get; init; }
    public RequestPriority DefaultPriority { get; init; }
    public int? IntraOpThreads { get; init; }
    public bool Running { get; init; }
    public Dictionary<string, string>? Environment { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true)]
[JsonSerializable(typeof(List<PersistedDeployment>))]
internal sealed partial class DeploymentStoreContext : JsonSerializerContext;

/// <summary>
/// Keeps the deployments in <c>deployments.json</c> under the data directory, written whole and atomically
/// (temp file, then rename) after every change, so a restarted host brings back what was running.
/// </summary>
internal sealed class DeploymentStore(string path)
{
    private readonly Lock _gate = new();

    public string Path { get; } = path;

    public IReadOnlyList<PersistedDeployment> Load()
    {
        lock (_gate)
        {
            if (!File.Exists(Path)) return [];
            try
            {
                using var stream = File.OpenRead(Path);
                return JsonSerializer.Deserialize(stream, DeploymentStoreContext.Default.ListPersistedDeployment) ?? [];
            }
            catch (JsonException ex)
            {
                throw new InvalidModelConfigException($"The deployment store '{Path}' is not valid JSON: {ex.Message}", ex);
            }
        }
    }

    public void Save(IEnumerable<PersistedDeployment> deployments)
    {
        var list = deployments.OrderBy(d => d.CreatedAt).ThenBy(d => d.DeploymentId, StringComparer.Ordinal).ToList();
        lock (_gate)
        {
            var temp = Path + ".tmp";
            using (var stream = File.Create(temp))
            {
                JsonSerializer.Serialize(stream, list, DeploymentStoreContext.Default.ListPersistedDeployment);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, Path, overwrite: true);
        }
    }
}
