using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace ModelKit.Registry;

/// <summary>
/// The registry's metadata on a PostgreSQL server, shared by every ModelKit node that names the same database. Writes
/// that decide a race run in READ COMMITTED transactions that lock what they decide on: the model's row
/// (<c>SELECT … FOR UPDATE</c>) for its versions and default, and a transaction-scoped advisory lock per content
/// sha256 (taken in sorted order) for content that an upload starts to reference while a delete may release it.
/// Serializable isolation would fail such a transaction at commit, after its callback has changed files on disk.
/// </summary>
internal sealed partial class PostgresModelMetadataStore : IModelMetadataStore, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;
    private readonly bool _ownsDataSource;

    /// <param name="dataSource">Where the database is.</param>
    /// <param name="logger">Logs the schema's creation and migrations.</param>
    /// <param name="ownsDataSource">Whether disposing the store disposes <paramref name="dataSource"/>.</param>
    public PostgresModelMetadataStore(NpgsqlDataSource dataSource, ILogger? logger = null, bool ownsDataSource = false)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        _logger = logger ?? NullLogger.Instance;
        _ownsDataSource = ownsDataSource;
    }

    /// <summary>Disposes the data source when the store owns it.</summary>
    public ValueTask DisposeAsync() => _ownsDataSource ? _dataSource.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>Disposes the data source when the store owns it.</summary>
    public void Dispose()
    {
        if (_ownsDataSource) _dataSource.Dispose();
    }

    /// <inheritdoc />
    public async Task<bool> TryCreateModelAsync(ModelInfo model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var command = _dataSource.CreateCommand("""
            INSERT INTO models (id, name, description, framework, task, tags, metadata, favorite, created_at, updated_at)
            VALUES (@id, @name, @description, @framework, @task, @tags, @metadata, @favorite, @created, @updated)
            ON CONFLICT (id) DO NOTHING
            """);
        command.Parameters.AddWithValue("id", model.Id);
        command.Parameters.AddWithValue("name", model.Name);
        command.Parameters.Add(Text("description", model.Description));
        command.Parameters.AddWithValue("framework", model.Framework);
        command.Parameters.Add(Text("task", model.Task));
        command.Parameters.AddWithValue("tags", JsonSerializer.Serialize(model.Tags));
        command.Parameters.AddWithValue("metadata", JsonSerializer.Serialize(model.Metadata));
        command.Parameters.AddWithValue("favorite", model.Favorite);
        command.Parameters.AddWithValue("created", Format(model.CreatedAt));
        command.Parameters.AddWithValue("updated", Format(model.UpdatedAt));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task<ModelUpdateResult> UpdateModelAsync(string modelId, ModelUpdate update, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = await BeginAsync(connection, cancellationToken).ConfigureAwait(false);
        if (!await LockModelAsync(connection, transaction, modelId, cancellationToken).ConfigureAwait(false)) return ModelUpdateResult.ModelNotFound;
        using var command = new NpgsqlCommand("""
            UPDATE models SET
                name = COALESCE(@name, name),
                description = COALESCE(@description, description),
                task = COALESCE(@task, task),
                tags = COALESCE(@tags, tags),
                metadata = COALESCE(@metadata, metadata),
                favorite = COALESCE(@favorite, favorite),
                default_version = COALESCE(@default_version, default_version),
                updated_at = @now
            WHERE id = @id AND (@default_version IS NULL OR EXISTS (
                SELECT 1 FROM model_versions WHERE model_id = @id AND version = @default_version AND status = 'ready'))
            """, connection, transaction);
        command.Parameters.AddWithValue("id", modelId);
        command.Parameters.Add(Text("name", update.Name));
        command.Parameters.Add(Text("description", update.Description));
        command.Parameters.Add(Text("task", update.Task));
        command.Parameters.Add(Text("tags", update.Tags is null ? null : JsonSerializer.Serialize(update.Tags)));
        command.Parameters.Add(Text("metadata", update.Metadata is null ? null : JsonSerializer.Serialize(update.Metadata)));
        command.Parameters.Add(new NpgsqlParameter("favorite", NpgsqlDbType.Boolean) { Value = update.Favorite is { } favorite ? favorite : DBNull.Value });
        command.Parameters.Add(Text("default_version", update.DefaultVersion));
        command.Parameters.AddWithValue("now", Format(now));
        var updated = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return updated ? ModelUpdateResult.Updated : ModelUpdateResult.DefaultVersionNotReady;
    }

    /// <inheritdoc />
    public async Task<string?> TryReserveVersionAsync(string modelId, string? version, string uploadToken, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = await BeginAsync(connection, cancellationToken).ConfigureAwait(false);
        // The model's lock orders every reservation of this model, so the next number is taken once.
        if (!await LockModelAsync(connection, transaction, modelId, cancellationToken).ConfigureAwait(false)) return null;
        using var command = new NpgsqlCommand(version is null
            ? """
              INSERT INTO model_versions (model_id, version, seq, status, created_at, upload_token)
              SELECT @m, next::text, next, 'uploading', @now, @token
              FROM (SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM model_versions WHERE model_id = @m) AS n
              ON CONFLICT (model_id, version) DO NOTHING
              RETURNING version
              """
            : """
              INSERT INTO model_versions (model_id, version, seq, status, created_at, upload_token)
              VALUES (@m, @v, (SELECT COALESCE(MAX(seq), 0) + 1 FROM model_versions WHERE model_id = @m), 'uploading', @now, @token)
              ON CONFLICT (model_id, version) DO UPDATE SET
                  status = 'uploading', upload_token = excluded.upload_token, created_at = excluded.created_at,
                  error = NULL, signature = NULL, size_bytes = 0
              WHERE model_versions.status = 'failed'
              RETURNING version
              """, connection, transaction);
        command.Parameters.AddWithValue("m", modelId);
        command.Parameters.Add(Text("v", version));
        command.Parameters.AddWithValue("token", uploadToken);
        command.Parameters.AddWithValue("now", Format(now));
        var reserved = (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        if (reserved is null && version is null)
        {
            // A version labelled by hand with the next number: number past every numeric label instead.
            command.CommandText = """
                INSERT INTO model_versions (model_id, version, seq, status, created_at, upload_token)
                SELECT @m, next::text, next, 'uploading', @now, @token
                FROM (SELECT GREATEST(COALESCE(MAX(seq), 0), COALESCE(MAX(CASE WHEN version ~ '^[0-9]{1,18}$' THEN version::bigint END), 0)) + 1 AS next
                      FROM model_versions WHERE model_id = @m) AS n
                ON CONFLICT (model_id, version) DO NOTHING
                RETURNING version
                """;
            reserved = (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return reserved;
    }

    /// <inheritdoc />
    public async Task<bool> CompleteVersionAsync(ModelVersionCommit commit, Func<CancellationToken, Task> storeContent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        ArgumentNullException.ThrowIfNull(storeContent);
        using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = await BeginAsync(connection, cancellationToken).ConfigureAwait(false);
        if (!await LockModelAsync(connection, transaction, commit.ModelId, cancellationToken).ConfigureAwait(false)) return false;
        long size = 0;
        foreach (var file in commit.Files) size += file.SizeBytes;
        using (var ready = new NpgsqlCommand("""
            UPDATE model_versions SET status = 'ready', size_bytes = @size, signature = @signature, error = NULL, upload_token = NULL
            WHERE model_id = @m AND version = @v AND status = 'uploading' AND upload_token = @token
            """, connection, transaction))
        {
            ready.Parameters.AddWithValue("m", commit.ModelId);
            ready.Parameters.AddWithValue("v", commit.Version);
            ready.Parameters.AddWithValue("token", commit.UploadToken);
            ready.Parameters.AddWithValue("size", size);
            ready.Parameters.Add(Text("signature", commit.Signature is null ? null : ModelSignatureJson.Serialize(commit.Signature)));
            if (await ready.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0) return false;
        }

        await LockContentAsync(connection, transaction, commit.Files.Select(f => f.Sha256), cancellationToken).ConfigureAwait(false);
        using (var batch = new NpgsqlBatch(connection, transaction))
        {
            for (var i = 0; i < commit.Files.Count; i++)
            {
                var insert = new NpgsqlBatchCommand("INSERT INTO model_files (model_id, version, ordinal, name, sha256, size_bytes) VALUES (@m, @v, @ordinal, @name, @sha, @size)");
                insert.Parameters.AddWithValue("m", commit.ModelId);
                insert.Parameters.AddWithValue("v", commit.Version);
                insert.Parameters.AddWithValue("ordinal", i);
                insert.Parameters.AddWithValue("name", commit.Files[i].Name);
                insert.Parameters.AddWithValue("sha", commit.Files[i].Sha256);
                insert.Parameters.AddWithValue("size", commit.Files[i].SizeBytes);
                batch.BatchCommands.Add(insert);
            }

            var model = new NpgsqlBatchCommand("UPDATE models SET default_version = COALESCE(default_version, @v), updated_at = @now WHERE id = @m");
            model.Parameters.AddWithValue("m", commit.ModelId);
            model.Parameters.AddWithValue("v", commit.Version);
            model.Parameters.AddWithValue("now", Format(commit.CompletedAt));
            batch.BatchCommands.Add(model);
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await storeContent(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public async Task<bool> FailVersionAsync(string modelId, string version, string? uploadToken, string reason, CancellationToken cancellationToken = default)
    {
        using var command = _dataSource.CreateCommand("""
            UPDATE model_versions SET status = 'failed', error = @reason, upload_token = NULL
            WHERE model_id = @m AND version = @v AND status = 'uploading' AND upload_token IS NOT DISTINCT FROM @token
            """);
        command.Parameters.AddWithValue("m", modelId);
        command.Parameters.AddWithValue("v", version);
        command.Parameters.Add(Text("token", uploadToken));
        command.Parameters.AddWithValue("reason", reason);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task<bool> ReleaseVersionAsync(string modelId, string version, string uploadToken, CancellationToken cancellationToken = default)
    {
        using var command = _dataSource.CreateCommand(
            "DELETE FROM model_versions WHERE model_id = @m AND version = @v AND status = 'uploading' AND upload_token = @token");
        command.Parameters.AddWithValue("m", modelId);
        command.Parameters.AddWithValue("v", version);
        command.Parameters.AddWithValue("token", uploadToken);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PendingUpload>> ListUploadsAsync(CancellationToken cancellationToken = default)
    {
        using var command = _dataSource.CreateCommand("SELECT model_id, version, upload_token FROM model_versions WHERE status = 'uploading' ORDER BY model_id COLLATE \"C\", seq");
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await ModelRows.ReadUploadsAsync(reader, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string modelId, string? version, Func<ReleasedContent, CancellationToken, Task> releaseContent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(releaseContent);
        using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = await BeginAsync(connection, cancellationToken).ConfigureAwait(false);
        if (!await LockModelAsync(connection, transaction, modelId, cancellationToken).ConfigureAwait(false)) return false;
        var hashes = new List<string>();
        using (var select = new NpgsqlCommand(
            "SELECT DISTINCT sha256 FROM model_files WHERE model_id = @m AND (@v IS NULL OR version = @v)", connection, transaction))
        {
            select.Parameters.AddWithValue("m", modelId);
            select.Parameters.Add(Text("v", version));
            using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) hashes.Add(reader.GetString(0));
        }

        await LockContentAsync(connection, transaction, hashes, cancellationToken).ConfigureAwait(false);

        // The versions are the ones this statement removed: an upload released by another caller since is not among them.
        var deleted = new List<(long Seq, string Version)>();
        using (var delete = new NpgsqlCommand(
            "DELETE FROM model_versions WHERE model_id = @m AND (@v IS NULL OR version = @v) RETURNING seq, version", connection, transaction))
        {
            delete.Parameters.AddWithValue("m", modelId);
            delete.Parameters.Add(Text("v", version));
            using var reader = await delete.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) deleted.Add((reader.GetInt64(0), reader.GetString(1)));
        }

        if (version is not null && deleted.Count == 0) return false;
        var versions = deleted.OrderBy(d => d.Seq).Select(d => d.Version).ToList();
        using (var after = new NpgsqlCommand(version is null
            ? "DELETE FROM models WHERE id = @m"
            : """
              UPDATE models SET default_version =
                  (SELECT version FROM model_versions WHERE model_id = @m AND status = 'ready' ORDER BY seq DESC LIMIT 1)
              WHERE id = @m AND default_version = @v
              """, connection, transaction))
        {
            after.Parameters.AddWithValue("m", modelId);
            after.Parameters.Add(Text("v", version));
            await after.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var unreferenced = new List<string>();
        if (hashes.Count > 0)
        {
            // Under the content locks, so no upload can start to reference one of these between this read and the commit.
            using var check = new NpgsqlCommand(
                "SELECT h FROM unnest(@hashes) AS h WHERE NOT EXISTS (SELECT 1 FROM model_files WHERE sha256 = h)", connection, transaction);
            check.Parameters.AddWithValue("hashes", hashes.ToArray());
            using var reader = await check.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) unreferenced.Add(reader.GetString(0));
        }

        await releaseContent(new ReleasedContent(modelId, versions, unreferenced), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    // READ COMMITTED, whatever the database's default: each statement sees what committed before it, which the delete's
    // check of unreferenced content relies on once it holds the content's locks.
    private static ValueTask<NpgsqlTransaction> BeginAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, cancellationToken);

    // Locks the model's row until the transaction ends; false when there is no such model.
    private static async Task<bool> LockModelAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string modelId, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand("SELECT 1 FROM models WHERE id = @id FOR UPDATE", connection, transaction);
        command.Parameters.AddWithValue("id", modelId);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    // One transaction-scoped advisory lock per content hash, in sorted order so that two transactions never wait on
    // each other in opposite orders.
    private static async Task LockContentAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<string> hashes, CancellationToken cancellationToken)
    {
        var sorted = hashes.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (sorted.Length == 0) return;
        using var command = new NpgsqlCommand(
            "SELECT pg_advisory_xact_lock(hashtextextended(h, 0)) FROM unnest(@hashes) WITH ORDINALITY AS t(h, i) ORDER BY i", connection, transaction);
        command.Parameters.AddWithValue("hashes", sorted);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlParameter Text(string name, string? value) => new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    private static string Format(DateTimeOffset time) => ModelRows.FormatTime(time);
}
