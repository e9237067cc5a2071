using Microsoft.Extensions.Logging;

namespace ModelKit.Deployments;

/// <summary>One line of a deployment's log.</summary>
public sealed record DeploymentLogEntry(DateTimeOffset Timestamp, LogLevel Level, string Message);
