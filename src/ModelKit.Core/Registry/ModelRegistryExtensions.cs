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
