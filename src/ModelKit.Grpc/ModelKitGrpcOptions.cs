namespace ModelKit.Grpc;

/// <summary>The gRPC adapter's limits (the host's <c>ModelKit:Grpc</c> section).</summary>
public sealed class ModelKitGrpcOptions
{
    /// <summary>The largest request message accepted (bytes); a larger one is RESOURCE_EXHAUSTED. Default: 64 MiB.</summary>
    public int MaxReceiveMessageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>The largest response message sent (bytes). Default: 64 MiB.</summary>
    public int MaxSendMessageBytes { get; set; } = 64 * 1024 * 1024;
}
