using ModelKit.Tensors;

namespace ModelKit.Cluster;

/// <summary>A tensor as it travels between nodes: element type, shape and the elements' bytes (fixed-size types only).</summary>
[GenerateSerializer, Immutable]
internal sealed record ForwardedTensor(
    [property: Id(0)] string Name,
    [property: Id(1)] int ElementType,
    [property: Id(2)] long[] Shape,
    [property: Id(3)] byte[] Data)
{
    /// <summary>Whether every tensor of <paramref name="tensors"/> can travel as bytes (strings cannot).</summary>
    public static bool CanForwardAll(IReadOnlyDictionary<string, Tensor> tensors)
    {
        foreach (var tensor in tensors.Values)
        {
            if (tensor.ElementType is TensorElementType.String) return false;
        }

        return true;
    }

    public static ForwardedTensor From(string name, Tensor tensor) => new(name, (int)tensor.ElementType, tensor.Shape.ToArray(), tensor.AsBytes().ToArray());

    public Tensor ToTensor()
    {
        var tensor = Tensor.Allocate((TensorElementType)ElementType, Shape);
        var target = tensor.AsBytes();
        if (target.Length != Data.Length) throw new InvalidOperationException($"A forwarded {(TensorElementType)ElementType} tensor of shape {Tensor.FormatShape(Shape)} came with {Data.Length} bytes, not {target.Length}.");
        Data.CopyTo(target);
        return tensor;
    }

    public static Dictionary<string, ForwardedTensor> FromAll(IReadOnlyDictionary<string, Tensor> tensors)
    {
        var forwarded = new Dictionary<string, ForwardedTensor>(tensors.Count, StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors) forwarded[name] = From(name, tensor);
        return forwarded;
    }

    public static Dictionary<string, Tensor> ToAll(IReadOnlyDictionary<string, ForwardedTensor> tensors)
    {
        var local = new Dictionary<string, Tensor>(tensors.Count, StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors) local[name] = tensor.ToTensor();
        return local;
    }
}

/// <summary>A request another node forwards to the node that holds the model.</summary>
[GenerateSerializer, Immutable]
internal sealed record ForwardedInference(
    [property: Id(0)] string ModelId,
    [property: Id(1)] string? Version,
    [property: Id(2)] Dictionary<string, ForwardedTensor> Inputs,
    [property: Id(3)] int? Priority,
    [property: Id(4)] TimeSpan? Timeout);

/// <summary>
/// What the holding node answers: the outputs, or ModelKit's error (code, message, retry hint) so that the node the
/// client called answers in its surface's shape exactly as if the model had failed there.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record ForwardedOutcome(
    [property: Id(0)] Dictionary<string, ForwardedTensor>? Outputs,
    [property: Id(1)] string? ErrorCode,
    [property: Id(2)] string? ErrorMessage,
    [property: Id(3)] TimeSpan? RetryAfter);

/// <summary>One node's load, as placement weighs it.</summary>
[GenerateSerializer, Immutable]
internal sealed record NodeLoad(
    [property: Id(0)] string Silo,
    [property: Id(1)] long CacheLimitBytes,
    [property: Id(2)] long CacheUsedBytes,
    [property: Id(3)] int QueuedRequests,
    [property: Id(4)] string[] LoadedModels,
    [property: Id(5)] int MaxModels,
    [property: Id(6)] Dictionary<string, int> QueuedByModel)
{
    public long FreeBytes => Math.Max(0, CacheLimitBytes - CacheUsedBytes);
}
