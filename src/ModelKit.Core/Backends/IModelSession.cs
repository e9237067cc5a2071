using ModelKit.Tensors;

namespace ModelKit.Backends;

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
