using System.Globalization;
using Microsoft.Data.Sqlite;

namespace ModelKit.Registry;

// The schema and its migrations. PRAGMA user_version holds the schema's version: 0 is the layout of the first
// releases (no upload tokens), 1 adds model_versions.upload_token. Migrations run in one write transaction, so
// processes starting at once over the same file migrate it once.
internal sealed partial class SqliteModelMetadataStore
{
    /// <summary>The schema version this code writes.</summary>
    public const int SchemaVersion = 1;

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_databasePath)!);
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using (var wal = connection.CreateCommand())
        {
            // Outside a transaction, as SQLite requires; lets readers and one writer in several processes work at once.
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            await wal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var version = Convert.ToInt32(await ScalarAsync(connection, transaction, "PRAGMA user_version;", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException(
                $"The registry database was written by a newer ModelKit (schema {version}); this version reads schemas up to {SchemaVersion}. Upgrade ModelKit or use another data directory.");
        }

        var existed = Convert.ToInt64(await ScalarAsync(connection, transaction,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'models';", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) > 0;
        await ExecuteAsync(connection, transaction, CreateTables, cancellationToken).ConfigureAwait(false);
        if (version < 1)
        {
            // Schema 0 had no upload token; its uploading versions (none can be live under this code) are failed by
            // the start-up recovery, which reads a null token as "no live upload".
            var hasToken = Convert.ToInt64(await ScalarAsync(connection, transaction,
                "SELECT COUNT(*) FROM pragma_table_info('model_versions') WHERE name = 'upload_token';", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            if (hasToken == 0) await ExecuteAsync(connection, transaction, "ALTER TABLE model_versions ADD COLUMN upload_token TEXT;", cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, transaction, Indexes + $"PRAGMA user_version = {SchemaVersion};", cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (existed && version < SchemaVersion) Log.RegistryMigrated(_logger, _databasePath, version, SchemaVersion);
    }

    // Version rows of a new database get upload_token here; an old one gets it from the migration above.
    private const string CreateTables = """
        CREATE TABLE IF NOT EXISTS models (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT,
            framework TEXT NOT NULL,
            task TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            metadata TEXT NOT NULL DEFAULT '{}',
            favorite INTEGER NOT NULL DEFAULT 0,
            default_version TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS model_versions (
            model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            version TEXT NOT NULL,
            seq INTEGER NOT NULL,
            status TEXT NOT NULL,
            size_bytes INTEGER NOT NULL DEFAULT 0,
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
            size_bytes INTEGER NOT NULL,
            PRIMARY KEY (model_id, version, ordinal),
            FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version) ON DELETE CASCADE);
        """;

    private const string Indexes = """
        CREATE INDEX IF NOT EXISTS ix_model_files_sha ON model_files(sha256);
        CREATE INDEX IF NOT EXISTS ix_model_versions_status ON model_versions(status);
        """;

    private static async Task<object?> ScalarAsync(SqliteConnection connection, SqliteTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
