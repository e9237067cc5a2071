using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelKit.Deployments;
using Npgsql;
using Orleans.Runtime;

namespace ModelKit.Cluster;

/// <summary>
/// Keeps a node's deployments in the cluster's database (<c>modelkit_cluster_deployments</c>), one row per deployment with
/// the node that runs it, in place of <c>deployments.json</c>. A node starts with none of its own: it is a new member of
/// the cluster, and the deployments an earlier run of it (or any node that left) ran are handed to the nodes that remain by
/// the <see cref="DeploymentDirectoryGrain"/>. Saving never blocks the deployment manager and never fails it: the newest
/// list is written by a background loop, again every 2 s while the database cannot be reached. A node writes only the
/// rows that are its own (or new).
/// </summary>
internal sealed partial class ClusterDeploymentStore(
    ClusterDatabase database, IOptions<ModelKitClusterOptions> options, ILocalSiloDetails silo, ILogger<ClusterDeploymentStore> logger)
    : IDeploymentStore, IAsyncDisposable
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _changed = new(0);
    private List<PersistedDeployment>? _pending;
    private long _saved;     // the newest list handed to Save
    private long _written;   // the newest list in the database
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _writer;
    private string? _node;
    private int _disposed;

    public string Location => "the cluster's database";

    private string Node => _node ??= silo.SiloAddress.ToParsableString();

    public IReadOnlyList<PersistedDeployment> Load() => [];

    public void Save(IEnumerable<PersistedDeployment> deployments)
    {
        if (Volatile.Read(ref _disposed) != 0) return; // the host is stopping: what is saved stays, and is taken over
        lock (_gate)
        {
            _pending = [.. deployments];
            _saved++;
            _writer ??= Task.Run(WriteLoopAsync);
        }

        _changed.Release();
    }

    /// <summary>Waits until everything saved so far is in the database, or <paramref name="timeout"/>; false when it is not.</summary>
    public async Task<bool> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        long wanted;
        lock (_gate) wanted = _saved;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        while (true)
        {
            Task progress;
            lock (_gate)
            {
                if (_written >= wanted) return true;
                progress = _progress.Task;
            }

            try
            {
                await progress.WaitAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
    }

    /// <summary>Every deployment saved for this cluster, with the node that runs it.</summary>
    public static async Task<List<(string DeploymentId, string ModelId, string Node, string Record, DateTimeOffset UpdatedAt)>> ListAsync(
        NpgsqlDataSource dataSource, string clusterId, CancellationToken cancellationToken)
    {
        using var command = dataSource.CreateCommand(
            "SELECT deployment_id, model_id, node, record, updated_at FROM modelkit_cluster_deployments WHERE cluster_id = @cluster ORDER BY deployment_id");
        command.Parameters.AddWithValue("cluster", clusterId);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<(string, string, string, string, DateTimeOffset)>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return rows;
    }

    /// <summary>Moves a saved deployment from node <paramref name="from"/> to node <paramref name="to"/>; false when it is not <paramref name="from"/>'s (any more).</summary>
    public static async Task<bool> MoveAsync(NpgsqlDataSource dataSource, string clusterId, string deploymentId, string from, string to, CancellationToken cancellationToken)
    {
        using var command = dataSource.CreateCommand(
            "UPDATE modelkit_cluster_deployments SET node = @to, updated_at = now() WHERE cluster_id = @cluster AND deployment_id = @id AND node = @from");
        command.Parameters.AddWithValue("cluster", clusterId);
        command.Parameters.AddWithValue("id", deploymentId);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public static string Serialize(PersistedDeployment record) => JsonSerializer.Serialize(record, DeploymentStoreContext.Default.PersistedDeployment);

    public static PersistedDeployment? Deserialize(string json) => JsonSerializer.Deserialize(json, DeploymentStoreContext.Default.PersistedDeployment);

    private async Task WriteLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _changed.WaitAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            while (!token.IsCancellationRequested)
            {
                List<PersistedDeployment> list;
                long version;
                lock (_gate)
                {
                    if (_written >= _saved) break;
                    list = _pending!;
                    version = _saved;
                }

                try
                {
                    await WriteAsync(list, token).ConfigureAwait(false);
                    TaskCompletionSource done;
                    lock (_gate)
                    {
                        _written = version;
                        done = _progress;
                        _progress = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }

                    done.TrySetResult();
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    LogNotSaved(logger, list.Count, ex.Message);
                    try
                    {
                        await Task.Delay(RetryInterval, token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }
    }

    // This node's rows become exactly the list: rows of deployments it no longer has go, the others are written. A row
    // another node owns is left alone: the directory moves a row to the node that takes it over before that node runs it,
    // so a node declared dead that still writes (it has not learned yet) cannot take a deployment back.
    private async Task WriteAsync(List<PersistedDeployment> list, CancellationToken cancellationToken)
    {
        var cluster = options.Value.ClusterId;
        var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var __ = transaction.ConfigureAwait(false);
        using (var delete = new NpgsqlCommand(
            "DELETE FROM modelkit_cluster_deployments WHERE cluster_id = @cluster AND node = @node AND NOT (deployment_id = ANY(@ids))", connection, transaction))
        {
            delete.Parameters.AddWithValue("cluster", cluster);
            delete.Parameters.AddWithValue("node", Node);
            delete.Parameters.AddWithValue("ids", list.Select(d => d.DeploymentId).ToArray());
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var record in list)
        {
            using var upsert = new NpgsqlCommand(
                """
                INSERT INTO modelkit_cluster_deployments (cluster_id, deployment_id, model_id, node, record, updated_at)
                VALUES (@cluster, @id, @model, @node, @record, now())
                ON CONFLICT (cluster_id, deployment_id) DO UPDATE
                SET model_id = excluded.model_id, record = excluded.record, updated_at = now()
                WHERE modelkit_cluster_deployments.node = excluded.node
                """, connection, transaction);
            upsert.Parameters.AddWithValue("cluster", cluster);
            upsert.Parameters.AddWithValue("id", record.DeploymentId);
            upsert.Parameters.AddWithValue("model", record.ModelId);
            upsert.Parameters.AddWithValue("node", Node);
            upsert.Parameters.AddWithValue("record", Serialize(record));
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    // Registered under two services, so disposed twice: only the first counts.
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // What is not written by now stays as it was: the directory hands this node's deployments to others when it leaves.
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_writer is { } writer) await writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
        _changed.Dispose();
    }

    [LoggerMessage(1, LogLevel.Warning, "This node's {Count} deployments could not be saved to the cluster's database ({Reason}); trying again in 2 s.")]
    private static partial void LogNotSaved(ILogger logger, int count, string reason);
}
