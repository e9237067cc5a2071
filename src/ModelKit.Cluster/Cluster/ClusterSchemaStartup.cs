using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Runtime;

namespace ModelKit.Cluster;

/// <summary>
/// Writes the membership tables and queries before the node joins (the first stage of the silo's start), waiting for
/// the database while it cannot be reached: every 2 s, with a log line each time, up to
/// <see cref="ModelKitClusterOptions.DatabaseWaitTimeout"/>, then the start fails with a message that says so.
/// </summary>
internal sealed partial class ClusterSchemaStartup(ClusterDatabase database, IOptions<ModelKitClusterOptions> options, ILogger<ClusterSchemaStartup> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ClusterSchemaStartup), ServiceLifecycleStage.First, EnsureSchemaAsync);

    private async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + options.Value.DatabaseWaitTimeout;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ClusterSchema.EnsureAsync(database.DataSource, logger, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (NpgsqlException ex) when (ex.IsTransient && DateTime.UtcNow + RetryInterval < deadline)
            {
                LogWaiting(logger, attempt, ex.Message);
                await Task.Delay(RetryInterval, cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException ex) when (ex.IsTransient)
            {
                throw new InvalidOperationException(
                    $"The cluster's membership database could not be reached within {options.Value.DatabaseWaitTimeout.TotalSeconds:F0} s; this node cannot join. Last error: {ex.Message}", ex);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "The cluster's membership database cannot be reached (attempt {Attempt}: {Reason}); trying again in 2 s.")]
    private static partial void LogWaiting(ILogger logger, int attempt, string reason);
}

/// <summary>The membership database's data source, shared by the schema step and Orleans' clustering; disposed with the host.</summary>
internal sealed class ClusterDatabase(IOptions<ModelKitClusterOptions> options) : IAsyncDisposable
{
    public NpgsqlDataSource DataSource { get; } = NpgsqlDataSource.Create(options.Value.ConnectionString);

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
