using ModelKit.Tensors;

namespace ModelKit.Scheduling;

/// <summary>Runs one merged batch; implemented over the model cache and a backend session.</summary>
internal interface IBatchExecutor
{
    /// <summary>
    /// Runs <paramref name="batch"/> (stacked along dimension 0 in order) and returns each request's outputs.
    /// <paramref name="cancellationToken"/> fires when every caller of the batch has timed out or gone away; the run
    /// should stop and throw <see cref="OperationCanceledException"/>.
    /// </summary>
    ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> ExecuteAsync(
        IReadOnlyList<IReadOnlyDictionary<string, Tensor>> batch, CancellationToken cancellationToken = default);
}
