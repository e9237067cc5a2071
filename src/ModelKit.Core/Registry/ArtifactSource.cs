namespace ModelKit.Registry;

/// <summary>
/// One file of a model version to register: its name relative to the version (<c>model.onnx</c>,
/// <c>model.onnx.data</c>, <c>tokenizer/vocab.txt</c>) and where its bytes come from.
/// </summary>
public sealed class ArtifactSource
{
    private readonly Stream? _content;
    private readonly Func<CancellationToken, ValueTask<Stream>>? _open;

    /// <summary>A file read from <paramref name="content"/>, which stays open: the caller disposes it.</summary>
    public ArtifactSource(string name, Stream content)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(content);
        Name = name;
        _content = content;
    }

    /// <summary>A file opened by <paramref name="open"/> when the registry reads it, and disposed after.</summary>
    public ArtifactSource(string name, Func<CancellationToken, ValueTask<Stream>> open)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(open);
        Name = name;
        _open = open;
    }

    /// <summary>
    /// The name relative to the version; '/' separates subfolders. Never absolute, never with '..', backslashes or
    /// control characters.
    /// </summary>
    public string Name { get; }

    /// <summary>
    /// The file at <paramref name="path"/>, registered as <paramref name="name"/> and opened when read (copied into the
    /// store; the original is left alone). A file that cannot be read is INVALID_MODEL_CONFIG naming
    /// <paramref name="name"/>, never <paramref name="path"/>.
    /// </summary>
    public static ArtifactSource FromFile(string name, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new ArtifactSource(name, _ => ValueTask.FromResult<Stream>(OpenFile(name, path)));
    }

    /// <summary>Opens the content; <c>Owned</c> says whether the caller must dispose it.</summary>
    internal async ValueTask<(Stream Stream, bool Owned)> OpenAsync(CancellationToken cancellationToken) =>
        _content is not null ? (_content, false) : (await _open!(cancellationToken).ConfigureAwait(false), true);

    internal static FileStream OpenFile(string name, string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidModelConfigException($"The artifact '{name}' cannot be read: the file does not exist.", ex);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new InvalidModelConfigException($"The artifact '{name}' cannot be read: access was denied or the file is in use.", ex);
        }
    }
}
