using ModelKit.Tensors;

namespace ModelKit.Backends;

/// <summary>Loads model artifacts into runnable sessions. ModelKit.Onnx provides the ONNX Runtime backend.</summary>
public interface IInferenceBackend
{
    /// <summary>The framework name this backend serves, e.g. <c>onnx</c>.</summary>
    string Framework { get; }

    /// <summary>Loads an artifact. Throws <see cref="InvalidModelConfigException"/> when the file is not a model this backend can load.</summary>
    ValueTask<IModelSession> LoadAsync(ModelLoadRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The bytes a session of <paramref name="request"/> will report as <see cref="IModelSession.MemoryBytes"/>, known without
    /// loading it; null when the backend cannot tell before loading. The model cache decides admission on this figure before
    /// it evicts anything or starts the load, so it should be the same on every call for the same file. The default
    /// returns null, and the cache then reserves the file's size.
    /// </summary>
    ValueTask<long?> EstimateMemoryAsync(ModelLoadRequest request, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<long?>(null);
}

internal static class InferenceBackends
{
    /// <summary>The backend serving <paramref name="framework"/> (case-insensitive), or null.</summary>
    public static IInferenceBackend? Find(IReadOnlyList<IInferenceBackend> backends, string framework)
    {
        foreach (var backend in backends)
        {
            if (string.Equals(backend.Framework, framework, StringComparison.OrdinalIgnoreCase)) return backend;
        }

        return null;
    }
}

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
}

/// <summary>How the memory of a loaded model was determined.</summary>
public enum MemoryMeasurement
{
    /// <summary>The growth of the process's resident memory while the session was created (not used by the ONNX Runtime backend).</summary>
    Measured,
    /// <summary>Estimated from the artifact's size.</summary>
    Estimated,
    /// <summary>
    /// Estimated from the bytes of the tensors the model holds (its initializers), read from the artifact without loading it,
    /// plus the backend's per-session allowance: the same figure on every load of the same file.
    /// </summary>
    InitializerEstimate,
}

/// <summary>A loaded model. Runs batches; owns native resources until disposed.</summary>
public interface IModelSession : IDisposable
{
    /// <summary>Inputs and outputs.</summary>
    ModelSignature Signature { get; }

    /// <summary>The device the session runs on.</summary>
    ExecutionDevice Device { get; }

    /// <summary>The memory the session holds, in bytes.</summary>
    long MemoryBytes { get; }

    /// <summary>How <see cref="MemoryBytes"/> was obtained.</summary>
    MemoryMeasurement MemoryMeasurement { get; }

    /// <summary>
    /// Runs the requests as one batch, stacked along dimension 0 in order, and returns each request's
    /// outputs split back. Inputs have been validated against <see cref="Signature"/> and share all
    /// dimensions but the first. The method may be called from several threads at once.
    /// </summary>
    /// <param name="requests">The requests of the batch, in order.</param>
    /// <param name="cancellationToken">
    /// Cancelled when nobody waits for the batch any more (every caller timed out or went away). A backend stops the
    /// run as soon as it can (ONNX Runtime: <c>RunOptions.Terminate</c>, checked between operators) and throws
    /// <see cref="OperationCanceledException"/>.
    /// </param>
    ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> RunAsync(
        IReadOnlyList<IReadOnlyDictionary<string, Tensor>> requests, CancellationToken cancellationToken = default);
}
