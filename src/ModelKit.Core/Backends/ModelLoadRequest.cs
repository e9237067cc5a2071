namespace ModelKit.Backends;

/// <summary>What to load and where.</summary>
public sealed record ModelLoadRequest
{
    /// <summary>Creates a request for <paramref name="artifactPath"/>.</summary>
    public ModelLoadRequest(string artifactPath) => ArtifactPath = artifactPath;

    /// <summary>The model file on disk.</summary>
    public string ArtifactPath { get; init; }

    /// <summary>The framework whose backend loads the file. Default: <c>onnx</c>.</summary>
    public string Framework { get; init; } = "onnx";

    /// <summary>The device to run on. Default: CPU.</summary>
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>Threads one run may use inside an operator; null leaves the backend's default.</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>
    /// How many runs of this model may be under way at once (a deployment's replicas). A backend whose runs share the
    /// cores (ModelKit.Onnx on the CPU) gives each run a share of them when <see cref="IntraOpThreads"/> is null, so that
    /// concurrent runs do not contend for the same cores. Default: 1.
    /// </summary>
    public int ConcurrentRuns { get; init; } = 1;

    /// <summary>
    /// What the content is (for example the sha256 of its files): a cached session is reused only for the same
    /// content under the same key, so a version deleted and registered again with other files is never served from
    /// the old session. Null: the artifact path identifies the content.
    /// </summary>
    public string? ContentId { get; init; }

    /// <summary>
    /// Set when the registry loads a new version only to check it before it becomes ready: the folder holding all of the
    /// version's files at their names as uploaded (the primary one may sit in a subfolder, <c>onnx/model.onnx</c>). A
    /// backend may then also check the other files (ModelKit.Onnx reads the tokenizer files) and refuse the version with
    /// <see cref="InvalidModelConfigException"/>. Null otherwise.
    /// </summary>
    public string? VersionDirectory { get; init; }

    /// <summary><see cref="ContentId"/>, else <see cref="ArtifactPath"/>.</summary>
    internal string ContentKey => ContentId ?? ArtifactPath;
}
