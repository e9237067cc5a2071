using System.Text.Json;

namespace ModelKit.Deployments;

/// <summary>
/// Keeps the deployments in <c>deployments.json</c> under the data directory, written whole and atomically
/// (temp file, then rename) after every change, so a restarted host brings back what was running.
/// </summary>
internal sealed class DeploymentStore(string path) : IDeploymentStore
{
    private readonly Lock _gate = new();

    public string Path { get; } = path;

    public string Location => Path;

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
