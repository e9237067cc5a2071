namespace ModelKit.Inference;

/// <summary>The outcome of a client's batch: each item's result or error, in order, and the summary the seeds report.</summary>
public sealed record InferenceBatchResult
{
    /// <summary>The most items one batch may hold (seed 003: 1 to 100).</summary>
    public const int MaxItems = 100;

    /// <summary>Each item's result or error, in the order of the request.</summary>
    public required IReadOnlyList<InferenceItemResult> Items { get; init; }

    /// <summary>Time from the start of the batch to its last result.</summary>
    public TimeSpan TotalTime { get; init; }

    /// <summary>Items in the batch.</summary>
    public int Total => Items.Count;

    /// <summary>Items that returned outputs.</summary>
    public int Succeeded
    {
        get
        {
            var count = 0;
            foreach (var item in Items) if (item.Succeeded) count++;
            return count;
        }
    }

    /// <summary>Items that failed (while being read or while running).</summary>
    public int Failed => Total - Succeeded;

    /// <summary>Succeeded ÷ total, 0..1.</summary>
    public double SuccessRate => Total == 0 ? 0 : (double)Succeeded / Total;

    /// <summary><see cref="TotalTime"/> ÷ total: what one item cost on average.</summary>
    public TimeSpan AverageTimePerRequest => Total == 0 ? TimeSpan.Zero : TotalTime / Total;
}
