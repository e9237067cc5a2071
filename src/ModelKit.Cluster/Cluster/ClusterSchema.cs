using Microsoft.Extensions.Logging;
using Npgsql;

namespace ModelKit.Cluster;

/// <summary>
/// The cluster's membership tables in PostgreSQL, and the queries Orleans' ADO.NET clustering runs on them. Orleans reads
/// its queries by key from the table <c>OrleansQuery</c>; ModelKit writes its own, over its own tables
/// (<c>modelkit_cluster_versions</c>, <c>modelkit_cluster_silos</c>), so nothing else needs to be run on the database.
/// Created or brought up to date before the silo joins, under an advisory lock so that nodes starting together do it once.
/// </summary>
internal static class ClusterSchema
{
    // The table Orleans reads its queries from (its name is fixed by Orleans), and the two tables they use: one version row
    // per cluster id (every membership change bumps it, so that concurrent writers find out), one row per silo incarnation;
    // and the cluster's deployments, each with the node (silo incarnation) that runs it.
    private const string Tables = """
        CREATE TABLE IF NOT EXISTS OrleansQuery (
            QueryKey varchar(64) NOT NULL PRIMARY KEY,
            QueryText varchar(8000) NOT NULL);
        CREATE TABLE IF NOT EXISTS modelkit_cluster_versions (
            cluster_id varchar(150) NOT NULL PRIMARY KEY,
            changed_at timestamptz NOT NULL DEFAULT now(),
            version integer NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS modelkit_cluster_silos (
            cluster_id varchar(150) NOT NULL REFERENCES modelkit_cluster_versions (cluster_id),
            address varchar(45) NOT NULL,
            port integer NOT NULL,
            generation integer NOT NULL,
            silo_name varchar(150) NOT NULL,
            host_name varchar(150) NOT NULL,
            status integer NOT NULL,
            proxy_port integer NULL,
            suspect_times varchar(8000) NULL,
            start_time timestamptz NOT NULL,
            i_am_alive_time timestamptz NOT NULL,
            PRIMARY KEY (cluster_id, address, port, generation));
        CREATE TABLE IF NOT EXISTS modelkit_cluster_deployments (
            cluster_id varchar(150) NOT NULL,
            deployment_id varchar(128) NOT NULL,
            model_id text NOT NULL,
            node varchar(200) NOT NULL,
            record text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (cluster_id, deployment_id));
        """;

    // The rows Orleans reads, with the column names it asks for.
    private const string SiloColumns = """
        v.cluster_id AS "DeploymentId", s.address AS "Address", s.port AS "Port", s.generation AS "Generation",
        s.silo_name AS "SiloName", s.host_name AS "HostName", s.status AS "Status", s.proxy_port AS "ProxyPort",
        s.suspect_times AS "SuspectTimes", s.start_time AS "StartTime", s.i_am_alive_time AS "IAmAliveTime", v.version AS "Version"
        """;

    // The cluster's version row, locked, if it still has the version the writer read (else no row, and nothing is written).
    private const string LockReadVersion = """
        WITH current_version AS (
            SELECT cluster_id FROM modelkit_cluster_versions
            WHERE cluster_id = @DeploymentId::varchar AND version = @Version::int FOR UPDATE)
        """;

    /// <summary>
    /// Orleans' query keys and ModelKit's text for each. A write answers one <c>row_count</c>: 0 when the cluster's version
    /// row no longer has the version the writer read (another silo changed the membership first), and then nothing was
    /// written; the version row is locked first, so the check and the write are one step.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string> Queries = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["InsertMembershipVersionKey"] = """
            WITH created AS (
                INSERT INTO modelkit_cluster_versions (cluster_id) VALUES (@DeploymentId::varchar)
                ON CONFLICT (cluster_id) DO NOTHING RETURNING 1)
            SELECT count(*)::int AS row_count FROM created
            """,
        ["InsertMembershipKey"] = $"""
            {LockReadVersion},
            added AS (
                INSERT INTO modelkit_cluster_silos (cluster_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
                SELECT cluster_id, @Address::varchar, @Port::int, @Generation::int, @SiloName::varchar, @HostName::varchar, @Status::int,
                       @ProxyPort::int, @StartTime::timestamptz, @IAmAliveTime::timestamptz
                FROM current_version
                ON CONFLICT (cluster_id, address, port, generation) DO NOTHING
                RETURNING cluster_id),
            bumped AS (
                UPDATE modelkit_cluster_versions SET version = version + 1, changed_at = now()
                WHERE cluster_id IN (SELECT cluster_id FROM added) RETURNING 1)
            SELECT count(*)::int AS row_count FROM bumped
            """,
        ["UpdateMembershipKey"] = $"""
            {LockReadVersion},
            changed AS (
                UPDATE modelkit_cluster_silos s
                SET status = @Status::int, suspect_times = @SuspectTimes::varchar, i_am_alive_time = @IAmAliveTime::timestamptz
                FROM current_version c
                WHERE s.cluster_id = c.cluster_id AND s.address = @Address::varchar AND s.port = @Port::int AND s.generation = @Generation::int
                RETURNING s.cluster_id),
            bumped AS (
                UPDATE modelkit_cluster_versions SET version = version + 1, changed_at = now()
                WHERE cluster_id IN (SELECT cluster_id FROM changed) RETURNING 1)
            SELECT count(*)::int AS row_count FROM bumped
            """,
        ["UpdateIAmAlivetimeKey"] = """
            UPDATE modelkit_cluster_silos SET i_am_alive_time = @IAmAliveTime::timestamptz
            WHERE cluster_id = @DeploymentId::varchar AND address = @Address::varchar AND port = @Port::int AND generation = @Generation::int
            """,
        ["MembershipReadRowKey"] = $"""
            SELECT {SiloColumns}
            FROM modelkit_cluster_versions v
            LEFT JOIN modelkit_cluster_silos s ON s.cluster_id = v.cluster_id
                AND s.address = @Address::varchar AND s.port = @Port::int AND s.generation = @Generation::int
            WHERE v.cluster_id = @DeploymentId::varchar
            """,
        ["MembershipReadAllKey"] = $"""
            SELECT {SiloColumns}
            FROM modelkit_cluster_versions v
            LEFT JOIN modelkit_cluster_silos s ON s.cluster_id = v.cluster_id
            WHERE v.cluster_id = @DeploymentId::varchar
            """,
        ["DeleteMembershipTableEntriesKey"] = """
            DELETE FROM modelkit_cluster_silos WHERE cluster_id = @DeploymentId::varchar;
            DELETE FROM modelkit_cluster_versions WHERE cluster_id = @DeploymentId::varchar
            """,
        ["GatewaysQueryKey"] = """
            SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
            FROM modelkit_cluster_silos
            WHERE cluster_id = @DeploymentId::varchar AND status = @Status::int AND proxy_port > 0
            """,
        ["CleanupDefunctSiloEntriesKey"] = """
            DELETE FROM modelkit_cluster_silos
            WHERE cluster_id = @DeploymentId::varchar AND i_am_alive_time < @IAmAliveTime::timestamptz AND status <> 3
            """,
    };

    /// <summary>Creates the tables and writes the queries where they are missing or differ; a no-op (and no lock) when current.</summary>
    public static async Task EnsureAsync(NpgsqlDataSource dataSource, ILogger logger, CancellationToken cancellationToken)
    {
        if (await IsCurrentAsync(dataSource, cancellationToken).ConfigureAwait(false)) return;
        using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        using (var locking = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('modelkit.cluster.schema', 0))", connection, transaction))
        {
            await locking.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        using (var create = new NpgsqlCommand(Tables, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var (key, text) in Queries)
        {
            using var write = new NpgsqlCommand(
                "INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES (@key, @text) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText",
                connection, transaction);
            write.Parameters.AddWithValue("key", key);
            write.Parameters.AddWithValue("text", text);
            await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        Log.ClusterSchemaWritten(logger, Queries.Count);
    }

    private static async Task<bool> IsCurrentAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        using var probe = dataSource.CreateCommand("SELECT to_regclass('orleansquery') IS NOT NULL AND to_regclass('modelkit_cluster_silos') IS NOT NULL AND to_regclass('modelkit_cluster_deployments') IS NOT NULL");
        if (await probe.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true) return false;
        using var read = dataSource.CreateCommand("SELECT QueryKey, QueryText FROM OrleansQuery");
        using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var found = 0;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (Queries.TryGetValue(reader.GetString(0), out var text) && text == reader.GetString(1)) found++;
        }

        return found == Queries.Count;
    }
}
