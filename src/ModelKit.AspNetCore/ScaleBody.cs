namespace ModelKit.AspNetCore;

internal sealed record ScaleBody
{
    public int? Replicas { get; init; }
}
