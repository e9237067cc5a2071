namespace ModelKit.Registry;

/// <summary>Registering artifacts straight from files on disk.</summary>
public static class ModelRegistryExtensions
{
    /// <summary>
    /// Creates a model and its first version from the file at <paramref name="path"/> (copied into the store; the
    /// original is left alone). INVALID_MODEL_CONFIG when the file does not exist.
    /// </summary>
    public static async Task<ModelInfo> RegisterFileAsync(
        this IModelRegistry registry, ModelDefinition definition, string path, string? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var stream = OpenArtifact(path);
        await using (stream.ConfigureAwait(false))
        {
            return await registry.RegisterAsync(definition, stream, Path.GetFileName(path), version, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Adds a version from the file at <paramref name="path"/> (copied into the store).</summary>
    public static async Task<ModelVersionInfo> AddVersionFileAsync(
        this IModelRegistry registry, string modelId, string path, string? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var stream = OpenArtifact(path);
        await using (stream.ConfigureAwait(false))
        {
            return await registry.AddVersionAsync(modelId, version, stream, Path.GetFileName(path), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Every registered model, read page by page.</summary>
    public static async Task<IReadOnlyList<ModelInfo>> ListAllModelsAsync(this IModelRegistry registry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var all = new List<ModelInfo>();
        for (var offset = 0; ; offset += 1000)
        {
            var page = await registry.ListModelsAsync(new ModelQuery { Offset = offset, Limit = 1000 }, cancellationToken).ConfigureAwait(false);
            all.AddRange(page.Items);
            if (all.Count >= page.Total || page.Items.Count == 0) return all;
        }
    }

    /// <summary>Counts over the whole registry: models, versions, bytes, favourites, and models by status, framework and task.</summary>
    public static async Task<ModelRegistryStatistics> GetStatisticsAsync(this IModelRegistry registry, CancellationToken cancellationToken = default)
    {
        var all = await registry.ListAllModelsAsync(cancellationToken).ConfigureAwait(false);
        return new ModelRegistryStatistics
        {
            Models = all.Count,
            Versions = all.Sum(m => m.Versions.Count),
            TotalBytes = all.Sum(m => m.Versions.Sum(v => v.SizeBytes)),
            Favorites = all.Count(m => m.Favorite),
            ByStatus = Count(all, m => m.Status, Comparer<ModelVersionStatus>.Default),
            ByFramework = Count(all, m => m.Framework, StringComparer.Ordinal),
            ByTask = Count(all, m => m.Task ?? ModelRegistryStatistics.NoTask, StringComparer.Ordinal),
        };

        static SortedDictionary<TKey, int> Count<TKey>(IEnumerable<ModelInfo> models, Func<ModelInfo, TKey> key, IComparer<TKey> order)
            where TKey : notnull => new(models.GroupBy(key).ToDictionary(g => g.Key, g => g.Count()), order);
    }

    private static FileStream OpenArtifact(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new InvalidModelConfigException($"The artifact '{path}' cannot be read: {ex.Message}", ex);
        }
    }
}
