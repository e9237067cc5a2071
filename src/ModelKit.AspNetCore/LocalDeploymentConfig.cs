namespace ModelKit.AspNetCore;

internal sealed record LocalDeploymentConfig
{
    public int? MaxBatchSize { get; init; }
    public bool? UseFlashAttention { get; init; }
    public bool? UseKvCache { get; init; }
    public int? TensorParallelSize { get; init; }
    public bool? CpuOffload { get; init; }
}
