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

/// <summary>What a node is asked to do with a deployment it runs (or, for <see cref="DeploymentCommandKind.Deploy"/> and <see cref="DeploymentCommandKind.Adopt"/>, is to run).</summary>
internal enum DeploymentCommandKind
{
    Deploy,
    Adopt,
    WaitUntilRunning,
    Scale,
    Update,
    Stop,
    Start,
    Restart,
    Delete,
    Logs,
    Get,
}

/// <summary>One deployment operation sent to the node that runs the deployment; the fields its <see cref="Kind"/> needs are set.</summary>
[GenerateSerializer, Immutable]
internal sealed record DeploymentCommand(
    [property: Id(0)] DeploymentCommandKind Kind,
    [property: Id(1)] string DeploymentId)
{
    [Id(2)] public Deployments.DeploymentSpec? Spec { get; init; }
    [Id(3)] public Deployments.DeploymentUpdate? Update { get; init; }
    [Id(4)] public int Replicas { get; init; }
    [Id(5)] public int? MinReplicas { get; init; }
    [Id(6)] public int? MaxReplicas { get; init; }
    [Id(7)] public int Lines { get; init; }
    // Adopt: the saved deployment (JSON, as the cluster's database keeps it) and the node that ran it.
    [Id(8)] public string? Record { get; init; }
    [Id(9)] public string? From { get; init; }
}

/// <summary>A node's answer to a <see cref="DeploymentCommand"/>: the deployment (and its log lines when asked), or ModelKit's error.</summary>
[GenerateSerializer, Immutable]
internal sealed record DeploymentOutcome(
    [property: Id(0)] Deployments.DeploymentInfo? Info,
    [property: Id(1)] Deployments.DeploymentLogEntry[]? Logs,
    [property: Id(2)] string? ErrorCode,
    [property: Id(3)] string? ErrorMessage,
    [property: Id(4)] TimeSpan? RetryAfter);

/// <summary>A deployment as the cluster sees it: the node running it (its silo address) and the deployment as that node last reported it.</summary>
[GenerateSerializer, Immutable]
internal sealed record ClusterDeployment(
    [property: Id(0)] string Node,
    [property: Id(1)] Deployments.DeploymentInfo Info);

/// <summary>The directory's answer to a new deployment: the node that should run it, or why it cannot be created.</summary>
[GenerateSerializer, Immutable]
internal sealed record DeploymentReservation(
    [property: Id(0)] string? Node,
    [property: Id(1)] string? ErrorCode,
    [property: Id(2)] string? ErrorMessage);
