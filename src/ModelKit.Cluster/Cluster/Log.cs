using Microsoft.Extensions.Logging;

namespace ModelKit.Cluster;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Wrote the cluster's membership tables and its {Count} queries to the database.")]
    public static partial void ClusterSchemaWritten(ILogger logger, int count);
}
