using Microsoft.Extensions.Logging;
using ModelKit.Scheduling;

namespace ModelKit.Deployments;

/// <summary>One line of a deployment's log.</summary>
public sealed record DeploymentLogEntry(DateTimeOffset Timestamp, LogLevel Level, string Message);
