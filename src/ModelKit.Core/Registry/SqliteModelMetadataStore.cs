using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ModelKit.Registry;

/// <summary>
/// The embedded metadata store: SQLite (<c>registry.db</c> in the data directory, WAL mode, so that several processes
/// can share it). Every write that decides a race is one statement with its condition, or one write transaction
/// (<c>BEGIN IMMEDIATE</c>, which SQLite serialises across processes).
/// </summary>
internal sealed partial class SqliteModelMetadataStore : IModelMetadataStore
{
    private const int ConstraintViolation = 19;
    private const int ForeignKeyViolation = 787;
    private readonly string _databasePath;
    private readonly string _connectionString;
    private readonly ILogger _logger;

    public SqliteModelMetadataStore(string databasePath, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        _databasePath = Path.GetFullPath(databasePath);
        _logger = logger ?? NullLogger.Instance;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <inheritdoc />
    public async Task<bool> TryCreateModelAsync(ModelInfo model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO models (id, name, description, framework, task, tags, metadata, favorite, created_at, updated_at)
            VALUES ($id, $name, $description, $framework, $task, $tags, $metadata, $favorite, $created, $updated)
            """;
        command.Parameters.AddWithValue("$id", model.Id);
        command.Parameters.AddWithValue("$name", model.Name);
        command.Parameters.AddWithValue("$description", (object?)model.Description ?? DBNull.Value);
        command.Parameters.AddWithValue("$framework", model.Framework);
        command.Parameters.AddWithValue("$task", (object?)model.Task ?? DBNull.Value);
        command.Parameters.AddWithValue("$tags", JsonSerializer.Serialize(model.Tags));
        command.Parameters.AddWithValue("$metadata", JsonSerializer.Serialize(model.Metadata));
        command.Parameters.AddWithValue("$favorite", model.Favorite ? 1 : 0);
        command.Parameters.AddWithValue("$created", Format(model.CreatedAt));
        command.Parameters.AddWithValue("$updated", Format(model.UpdatedAt));
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == ConstraintViolation)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<ModelUpdateResult> UpdateModelAsync(string modelId, ModelUpdate update, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE models SET
                name = COALESCE($name, name),
                description = COALESCE($description, description),
                task = COALESCE($task, task),
                tags = COALESCE($tags, tags),
                metadata = COALESCE($metadata, metadata),
                favorite = COALESCE($favorite, favorite),
                default_version = COALESCE($default_version, default_version),
                updated_at = $now
            WHERE id = $id AND ($default_version IS NULL OR EXISTS (
                SELECT 1 FROM model_versions WHERE model_id = $id AND version = $default_version AND status = 'ready'));
            SELECT EXISTS (SELECT 1 FROM models WHERE id = $id);
            """;
        command.Parameters.AddWithValue("$id", modelId);
        command.Parameters.AddWithValue("$name", (object?)update.Name ?? DBNull.Value);
        command.Parameters.AddWithValue("$description", (object?)update.Description ?? DBNull.Value);
        command.Parameters.AddWithValue("$task", (object?)update.Task ?? DBNull.Value);
        command.Parameters.AddWithValue("$tags", update.Tags is null ? DBNull.Value : JsonSerializer.Serialize(update.Tags));
        command.Parameters.AddWithValue("$metadata", update.Metadata is null ? DBNull.Value : JsonSerializer.Serialize(update.Metadata));
        command.Parameters.AddWithValue("$favorite", update.Favorite is { } favorite ? (favorite ? 1 : 0) : DBNull.Value);
        command.Parameters.AddWithValue("$default_version", (object?)update.DefaultVersion ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", Format(now));
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var updated = reader.RecordsAffected > 0;
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var exists = reader.GetInt64(0) != 0;
        return updated ? ModelUpdateResult.Updated : exists ? ModelUpdateResult.DefaultVersionNotReady : ModelUpdateResult.ModelNotFound;
    }

    /// <inheritdoc />
    public async Task<string?> TryReserveVersionAsync(string modelId, string? version, string uploadToken, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            using var command = connection.CreateCommand();
            command.CommandText = (version, attempt) switch
            {
                (null, 0) => """
                    INSERT INTO model_versions (model_id, version, seq, status, created_at, upload_token)
                    SELECT $m, CAST(next AS TEXT), next, 'uploading', $now, $token
                    FROM (SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM model_versions WHERE model_id = $m)
                    RETURNING version
                    """,
                // A version labelled by hand with the next number: number past every numeric label instead.
                (null, _) => """
                    INSERT INTO model_versions (model_id, version, seq, status, created_at, upload_token)
                    SELECT $m, CAST(next AS TEXT), next, 'uploading', $now, $token
                    FROM (SELECT MAX(COALESCE(MAX(seq), 0), COALESCE(MAX(CASE
                              WHEN length(version) BETWEEN 1 AND 18 AND version NOT GLOB '*[^0-9]*' THEN CAST(version AS INTEGER) END), 0)) + 1 AS next
                          FROM model_versions WHERE model_id = $m)
                    RETURNING version
                    """,
                _ => """
                    INSERT INTO model_versions (model_id, version, seq, status, created_at, upload_token)
                    VALUES ($m, $v, (SELECT COALESCE(MAX(seq), 0) + 1 FROM model_versions WHERE model_id = $m), 'uploading', $now, $token)
                    ON CONFLICT (model_id, version) DO UPDATE SET
                        status = 'uploading', upload_token = excluded.upload_token, created_at = excluded.created_at,
                        error = NULL, signature = NULL, size_bytes = 0
                    WHERE model_versions.status = 'failed'
                    RETURNING version
                    """,
            };
            command.Parameters.AddWithValue("$m", modelId);
            command.Parameters.AddWithValue("$v", (object?)version ?? DBNull.Value);
            command.Parameters.AddWithValue("$token", uploadToken);
            command.Parameters.AddWithValue("$now", Format(now));
            try
            {
                return (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (SqliteException ex) when (ex.SqliteExtendedErrorCode == ForeignKeyViolation)
            {
                return null; // the model was deleted meanwhile
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == ConstraintViolation && version is null && attempt < 1)
            {
                // The next number is taken by a hand-made label: the second attempt numbers past every numeric label.
            }
        }
    }

    /// <inheritdoc />
    public async Task<bool> CompleteVersionAsync(ModelVersionCommit commit, Func<CancellationToken, Task> storeContent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        ArgumentNullException.ThrowIfNull(storeContent);
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        long size = 0;
        foreach (var file in commit.Files) size += file.SizeBytes;
        using (var ready = connection.CreateCommand())
        {
            ready.Transaction = transaction;
            ready.CommandText = """
                UPDATE model_versions SET status = 'ready', size_bytes = $size, signature = $signature, error = NULL, upload_token = NULL
                WHERE model_id = $m AND version = $v AND status = 'uploading' AND upload_token = $token;
                """;
            ready.Parameters.AddWithValue("$m", commit.ModelId);
            ready.Parameters.AddWithValue("$v", commit.Version);
            ready.Parameters.AddWithValue("$token", commit.UploadToken);
            ready.Parameters.AddWithValue("$size", size);
            ready.Parameters.AddWithValue("$signature", commit.Signature is null ? DBNull.Value : ModelSignatureJson.Serialize(commit.Signature));
            if (await ready.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0) return false;
        }

        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO model_files (model_id, version, ordinal, name, sha256, size_bytes) VALUES ($m, $v, $ordinal, $name, $sha, $size)";
            insert.Parameters.AddWithValue("$m", commit.ModelId);
            insert.Parameters.AddWithValue("$v", commit.Version);
            var ordinal = insert.Parameters.Add("$ordinal", SqliteType.Integer);
            var name = insert.Parameters.Add("$name", SqliteType.Text);
            var sha = insert.Parameters.Add("$sha", SqliteType.Text);
            var fileSize = insert.Parameters.Add("$size", SqliteType.Integer);
            for (var i = 0; i < commit.Files.Count; i++)
            {
                (ordinal.Value, name.Value, sha.Value, fileSize.Value) = (i, commit.Files[i].Name, commit.Files[i].Sha256, commit.Files[i].SizeBytes);
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        using (var model = connection.CreateCommand())
        {
            model.Transaction = transaction;
            model.CommandText = "UPDATE models SET default_version = COALESCE(default_version, $v), updated_at = $now WHERE id = $m";
            model.Parameters.AddWithValue("$m", commit.ModelId);
            model.Parameters.AddWithValue("$v", commit.Version);
            model.Parameters.AddWithValue("$now", Format(commit.CompletedAt));
            await model.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await storeContent(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public async Task<bool> FailVersionAsync(string modelId, string version, string? uploadToken, string reason, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(
            """
            UPDATE model_versions SET status = 'failed', error = $reason, upload_token = NULL
            WHERE model_id = $m AND version = $v AND status = 'uploading' AND upload_token IS $token
            """,
            modelId, version, uploadToken, reason, cancellationToken).ConfigureAwait(false) > 0;

    /// <inheritdoc />
    public async Task<bool> ReleaseVersionAsync(string modelId, string version, string uploadToken, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(
            "DELETE FROM model_versions WHERE model_id = $m AND version = $v AND status = 'uploading' AND upload_token = $token",
            modelId, version, uploadToken, reason: null, cancellationToken).ConfigureAwait(false) > 0;

    /// <inheritdoc />
    public async Task<IReadOnlyList<PendingUpload>> ListUploadsAsync(CancellationToken cancellationToken = default)
    {
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT model_id, version, upload_token FROM model_versions WHERE status = 'uploading' ORDER BY model_id, seq";
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await ModelRows.ReadUploadsAsync(reader, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string modelId, string? version, Func<ReleasedContent, CancellationToken, Task> releaseContent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(releaseContent);
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var versions = new List<string>();
        var hashes = new List<string>();
        bool modelExists;
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = """
                SELECT EXISTS (SELECT 1 FROM models WHERE id = $m);
                SELECT version FROM model_versions WHERE model_id = $m AND ($v IS NULL OR version = $v) ORDER BY seq;
                SELECT DISTINCT sha256 FROM model_files WHERE model_id = $m AND ($v IS NULL OR version = $v);
                """;
            select.Parameters.AddWithValue("$m", modelId);
            select.Parameters.AddWithValue("$v", (object?)version ?? DBNull.Value);
            using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            modelExists = reader.GetInt64(0) != 0;
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) versions.Add(reader.GetString(0));
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) hashes.Add(reader.GetString(0));
        }

        if (!modelExists || (version is not null && versions.Count == 0)) return false;
        using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = version is null
                ? "DELETE FROM models WHERE id = $m"
                : """
                  DELETE FROM model_versions WHERE model_id = $m AND version = $v;
                  UPDATE models SET default_version =
                      (SELECT version FROM model_versions WHERE model_id = $m AND status = 'ready' ORDER BY seq DESC LIMIT 1)
                  WHERE id = $m AND default_version = $v;
                  """;
            delete.Parameters.AddWithValue("$m", modelId);
            delete.Parameters.AddWithValue("$v", (object?)version ?? DBNull.Value);
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var unreferenced = new List<string>();
        using (var check = connection.CreateCommand())
        {
            check.Transaction = transaction;
            check.CommandText = "SELECT EXISTS (SELECT 1 FROM model_files WHERE sha256 = $sha)";
            var sha = check.Parameters.Add("$sha", SqliteType.Text);
            foreach (var hash in hashes)
            {
                sha.Value = hash;
                if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) == 0) unreferenced.Add(hash);
            }
        }

        await releaseContent(new ReleasedContent(modelId, versions, unreferenced), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    private async Task<int> ExecuteAsync(string sql, string modelId, string version, string? uploadToken, string? reason, CancellationToken cancellationToken)
    {
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$m", modelId);
        command.Parameters.AddWithValue("$v", version);
        command.Parameters.AddWithValue("$token", (object?)uploadToken ?? DBNull.Value);
        if (reason is not null) command.Parameters.AddWithValue("$reason", reason);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;";
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static string Format(DateTimeOffset time) => ModelRows.FormatTime(time);
}
