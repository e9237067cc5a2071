namespace ModelKit.Deployments;

/// <summary>
/// Text generation settings of one deployment of a decoder (seed 004's <c>max_model_len</c> and
/// <c>gpu_memory_utilization</c>); null fields take the generation service's options.
/// </summary>
public sealed record GenerationLimits
{
    /// <summary>The most tokens a sequence may hold, prompt and completion together; below the model's own context, it lowers it. Null: the model's.</summary>
    public int? MaxContextLength { get; init; }

    /// <summary>The KV-cache memory this deployment's generations may use, in bytes. Null: the service's <c>KvCacheBytes</c>.</summary>
    public long? KvCacheBytes { get; init; }

    internal void Validate()
    {
        if (MaxContextLength is < 2) throw new InvalidModelConfigException($"The context length must be at least 2 tokens (was {MaxContextLength}).");
        if (KvCacheBytes is < 1 << 20) throw new InvalidModelConfigException($"The KV-cache budget must be at least 1 MiB (was {KvCacheBytes} bytes).");
    }
}
