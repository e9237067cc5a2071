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
