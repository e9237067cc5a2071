using Npgsql;

namespace ModelKit.Registry;

// The schema and its migrations. modelkit_schema holds the schema's version; a migration runs in one transaction under
// a fixed advisory lock, so nodes starting at once migrate the database once.
internal sealed partial class PostgresModelMetadataStore
{
    /// <summary>The schema version this code writes.</summary>
    public const int SchemaVersion = 1;

    // Any 64-bit number that no other lock of ModelKit's uses: "MKREGSCH" in ASCII.
    private const long MigrationLock = 0x4D4B524547534348;

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // A schema already at this version needs nothing, and no right to create tables: read it first, without the lock.
        using (var exists = new NpgsqlCommand("SELECT to_regclass('modelkit_schema') IS NOT NULL", connection))
        {
            if ((bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                using var read = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM modelkit_schema", connection);
                var found = (int)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                if (found == SchemaVersion) return;
                if (found > SchemaVersion) throw NewerSchema(found);
            }
        }

        using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@lock); CREATE TABLE IF NOT EXISTS modelkit_schema (version INTEGER NOT NULL);", connection, transaction))
        {
            command.Parameters.AddWithValue("lock", MigrationLock);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        int version;
        using (var read = new NpgsqlCommand("SELECT MAX(version) FROM modelkit_schema", connection, transaction))
        {
            version = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is int v ? v : 0;
        }

        if (version > SchemaVersion) throw NewerSchema(version);

        if (version < SchemaVersion)
        {
            using var create = new NpgsqlCommand(CreateTables + "DELETE FROM modelkit_schema; INSERT INTO modelkit_schema (version) VALUES (@version);", connection, transaction);
            create.Parameters.AddWithValue("version", SchemaVersion);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (version < SchemaVersion) Log.SchemaCreated(_logger, version, SchemaVersion);
    }

    private static InvalidOperationException NewerSchema(int version) => new(
        $"The registry database was written by a newer ModelKit (schema {version}); this version reads schemas up to {SchemaVersion}. Upgrade ModelKit or use another database.");

    // Times are ISO 8601 text in UTC with seven fractional digits, as the SQLite store keeps them: they sort as text and
    // round-trip to the tick (timestamptz keeps microseconds).
    private const string CreateTables = """
        CREATE TABLE IF NOT EXISTS models (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT,
            framework TEXT NOT NULL,
            task TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            metadata TEXT NOT NULL DEFAULT '{}',
            favorite BOOLEAN NOT NULL DEFAULT FALSE,
            default_version TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS model_versions (
            model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            version TEXT NOT NULL,
            seq BIGINT NOT NULL,
            status TEXT NOT NULL,
            size_bytes BIGINT NOT NULL DEFAULT 0,
            signature TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            upload_token TEXT,
            PRIMARY KEY (model_id, version));
        CREATE TABLE IF NOT EXISTS model_files (
            model_id TEXT NOT NULL,
            version TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size_bytes BIGINT NOT NULL,
            PRIMARY KEY (model_id, version, ordinal),
            FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version) ON DELETE CASCADE);
        CREATE INDEX IF NOT EXISTS ix_model_files_sha ON model_files(sha256);
        CREATE INDEX IF NOT EXISTS ix_model_versions_status ON model_versions(status);
        """;

    private static partial class Log
    {
        [Microsoft.Extensions.Logging.LoggerMessage(EventId = 1, Level = Microsoft.Extensions.Logging.LogLevel.Information,
            Message = "Registry schema in PostgreSQL: version {From} to {To}.")]
        public static partial void SchemaCreated(Microsoft.Extensions.Logging.ILogger logger, int from, int to);
    }
}
