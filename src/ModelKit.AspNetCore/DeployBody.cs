namespace ModelKit.AspNetCore;

internal sealed record DeployBody
{
    public DeployConfig? Config { get; init; }
}
