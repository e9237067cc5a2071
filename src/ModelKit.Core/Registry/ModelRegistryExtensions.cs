namespace ModelKit.Registry;

/// <summary>Registering artifacts straight from files on disk.</summary>
public static class ModelRegistryExtensions
{
    /// <summary>
    /// Creates a model and its first version from the file at <paramref name="path"/> (copied into the store; the
    /// original is left alone). INVALID_MODEL_CONFIG, naming the file but not its directory, when it cannot be read.
    /// </summary>
    public static async Task<ModelInfo> RegisterFileAsync(
        this IModelRegistry registry, ModelDefinition definition, string path, string? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = ArtifactSource.OpenFile(Path.GetFileName(path), path);
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
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = ArtifactSource.OpenFile(Path.GetFileName(path), path);
        await using (stream.ConfigureAwait(false))
        {
            return await registry.AddVersionAsync(modelId, version, stream, Path.GetFileName(path), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Creates a model and its first version from every file under <paramref name="directory"/> (subfolders included,
    /// names relative to it; hidden files and folders, whose names start with '.', are left out), copied into the store.
    /// <paramref name="primaryFile"/> is the relative name of the file the backend loads, for example <c>model.onnx</c>
    /// or <c>onnx/model.onnx</c>.
    /// </summary>
    public static Task<ModelInfo> RegisterDirectoryAsync(
        this IModelRegistry registry, ModelDefinition definition, string directory, string primaryFile, string? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry.RegisterAsync(definition, FilesOf(directory), primaryFile, version, cancellationToken);
    }

    /// <summary>
    /// Adds a version from every file under <paramref name="directory"/> (as <see cref="RegisterDirectoryAsync"/>
    /// reads it); <paramref name="primaryFile"/> is the relative name of the file the backend loads.
    /// </summary>
    public static Task<ModelVersionInfo> AddVersionDirectoryAsync(
        this IModelRegistry registry, string modelId, string directory, string primaryFile, string? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry.AddVersionAsync(modelId, version, FilesOf(directory), primaryFile, cancellationToken);
    }

    /// <summary>Every registered model that matches <paramref name="filter"/> (all when null), read page by page; its offset and limit are ignored.</summary>
    public static async Task<IReadOnlyList<ModelInfo>> ListAllModelsAsync(this IModelRegistry registry, ModelQuery? filter = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        filter ??= new ModelQuery();
        var all = new List<ModelInfo>();
        for (var offset = 0; ; offset += 1000)
        {
            var page = await registry.ListModelsAsync(filter with { Offset = offset, Limit = 1000 }, cancellationToken).ConfigureAwait(false);
            all.AddRange(page.Items);
            if (all.Count >= page.Total || page.Items.Count == 0) return all;
        }
    }

    /// <summary>Counts over the whole registry: models, versions, bytes, favourites, and models by status, framework and task.</summary>
    public static async Task<ModelRegistryStatistics> GetStatisticsAsync(this IModelRegistry registry, CancellationToken cancellationToken = default)
    {
        var all = await registry.ListAllModelsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return new ModelRegistryStatistics
        {
            Models = all.Count,
            Versions = all.Sum(m => m.Versions.Count),
            TotalBytes = all.Sum(m => m.Versions.Sum(v => v.SizeBytes)),
            Favorites = all.Count(m => m.Favorite),
            ByStatus = Count(all, m => m.Status, Comparer<ModelVersionStatus>.Default),
            ByFramework = Count(all, m => m.Framework, StringComparer.Ordinal),
            ByTask = Count(all, m => m.Task ?? ModelRegistryStatistics.NoTask, StringComparer.Ordinal),
            ModelsByTask = new SortedDictionary<string, IReadOnlyList<string>>(
                all.GroupBy(m => m.Task ?? ModelRegistryStatistics.NoTask, StringComparer.Ordinal)
                   .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(m => m.Id).Order(StringComparer.Ordinal)], StringComparer.Ordinal),
                StringComparer.Ordinal),
        };

        static SortedDictionary<TKey, int> Count<TKey>(IEnumerable<ModelInfo> models, Func<ModelInfo, TKey> key, IComparer<TKey> order)
            where TKey : notnull => new(models.GroupBy(key).ToDictionary(g => g.Key, g => g.Count()), order);
    }

    private static List<ArtifactSource> FilesOf(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var root = new DirectoryInfo(directory);
        if (!root.Exists) throw new InvalidModelConfigException($"The model directory '{root.Name}' does not exist.");
        var files = new List<ArtifactSource>();
        foreach (var file in root.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden }))
        {
            var name = Path.GetRelativePath(root.FullName, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (name.StartsWith('.') || name.Contains("/.", StringComparison.Ordinal)) continue;
            files.Add(ArtifactSource.FromFile(name, file.FullName));
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return files;
    }
}
