using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Tensors;

namespace ModelKit.Registry;

/// <summary>
/// The embedded registry: metadata in SQLite (<c>registry.db</c>, WAL mode, so several processes can share it),
/// artifacts in a content-addressed store (<c>blobs/sha256/ab/abcd…</c>).
/// </summary>
public sealed partial class SqliteModelRegistry : IModelRegistry
{
    private const int MaxTextLength = 4096;
    private readonly string _connectionString;
    private readonly string _blobRoot;
    private readonly string _tempRoot;
    private readonly long _maxArtifactBytes;
    private readonly IReadOnlyList<IInferenceBackend> _backends;
    private readonly IReadOnlyList<IModelUsageGuard> _guards;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _verified = new(StringComparer.Ordinal); // blobs hashed since start

    /// <summary>Opens (and creates when missing) the registry under <see cref="ModelKitOptions.DataDirectory"/>.</summary>
    public SqliteModelRegistry(
        IOptions<ModelKitOptions> options,
        IEnumerable<IInferenceBackend> backends,
        IEnumerable<IModelUsageGuard>? guards = null,
        TimeProvider? timeProvider = null,
        ILogger<SqliteModelRegistry>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(backends);
        var root = Path.GetFullPath(options.Value.DataDirectory);
        Directory.CreateDirectory(root);
        _blobRoot = Path.Combine(root, "blobs", "sha256");
        _tempRoot = Path.Combine(root, "tmp");
        Directory.CreateDirectory(_blobRoot);
        Directory.CreateDirectory(_tempRoot);
        _maxArtifactBytes = options.Value.MaxArtifactBytes;
        _backends = [.. backends];
        _guards = guards is null ? [] : [.. guards];
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(root, "registry.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        InitializeSchema();
        SweepStaleUploads();
    }

    /// <summary>Upload temp files older than this are leftovers of a process that died mid-upload and are deleted at start.</summary>
    public static readonly TimeSpan StaleUploadAge = TimeSpan.FromHours(1);

    // Another process may be uploading into the same directory right now: only old files are removed.
    private void SweepStaleUploads()
    {
        var cutoff = _timeProvider.GetUtcNow().UtcDateTime - StaleUploadAge;
        foreach (var file in Directory.EnumerateFiles(_tempRoot, "*.part"))
        {
            try
            {
                if (File.GetLastWriteTimeUtc(file) >= cutoff) continue;
                File.Delete(file);
                Log.StaleUploadDeleted(_logger, file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // In use or gone meanwhile; the next start tries again.
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex IdPattern();

    private void InitializeSchema()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode = WAL;
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
            CREATE INDEX IF NOT EXISTS ix_model_files_sha ON model_files(sha256);
            """;
        command.ExecuteNonQuery();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    /// <inheritdoc />
    public async Task<ModelInfo> CreateModelAsync(ModelDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(definition.Name)) errors.Add("'name' is required.");
        else if (definition.Name.Length > 256) errors.Add("'name' must be at most 256 characters.");
        var id = definition.Id ?? Slugify(definition.Name ?? string.Empty);
        if (!IdPattern().IsMatch(id)) errors.Add($"'id' must be 1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit (was '{id}').");
        if (string.IsNullOrWhiteSpace(definition.Framework) || definition.Framework.Length > 64) errors.Add("'framework' is required (at most 64 characters).");
        if (definition.Description is { Length: > MaxTextLength }) errors.Add($"'description' must be at most {MaxTextLength} characters.");
        if (errors.Count > 0) throw new InvalidModelConfigException(string.Join(" ", errors));

        var now = Format(_timeProvider.GetUtcNow());
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO models (id, name, description, framework, task, tags, metadata, favorite, created_at, updated_at)
            VALUES ($id, $name, $description, $framework, $task, $tags, $metadata, 0, $now, $now)
            """;
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$name", definition.Name!.Trim());
        command.Parameters.AddWithValue("$description", (object?)definition.Description ?? DBNull.Value);
        command.Parameters.AddWithValue("$framework", definition.Framework.Trim().ToLowerInvariant());
        command.Parameters.AddWithValue("$task", (object?)definition.Task ?? DBNull.Value);
        command.Parameters.AddWithValue("$tags", JsonSerializer.Serialize(definition.Tags ?? []));
        command.Parameters.AddWithValue("$metadata", JsonSerializer.Serialize(definition.Metadata ?? new Dictionary<string, string>()));
        command.Parameters.AddWithValue("$now", now);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            throw new ModelAlreadyExistsException($"A model with id '{id}' already exists.");
        }

        RaiseChanged(new ModelRegistryChange(ModelRegistryChangeKind.ModelCreated, id));
        return await GetModelAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ModelInfo> RegisterAsync(ModelDefinition definition, Stream content, string fileName, string? version = null, CancellationToken cancellationToken = default)
    {
        var model = await CreateModelAsync(definition, cancellationToken).ConfigureAwait(false);
        try
        {
            await AddVersionAsync(model.Id, version, content, fileName, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await DeleteRowsAsync(model.Id, null).ConfigureAwait(false);
            throw;
        }

        return await GetModelAsync(model.Id, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ModelVersionInfo> AddVersionAsync(string modelId, string? version, Stream content, string fileName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var safeName = ValidateFileName(fileName);
        if (version is not null && !IdPattern().IsMatch(version))
        {
            throw new InvalidModelConfigException($"'version' must be 1-128 characters of letters, digits, '.', '_' or '-' (was '{version}').");
        }

        var model = await GetModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        version = await ReserveVersionAsync(model.Id, version).ConfigureAwait(false);
        var tempPath = Path.Combine(_tempRoot, $"{Guid.NewGuid():N}.part");
        try
        {
            var (sha256, size) = await StreamToTempAsync(content, tempPath, cancellationToken).ConfigureAwait(false);
            var signature = await ValidateAsync(model.Framework, tempPath, cancellationToken).ConfigureAwait(false);
            var blobPath = BlobPath(sha256);
            Directory.CreateDirectory(Path.GetDirectoryName(blobPath)!);
            if (File.Exists(blobPath)) File.Delete(tempPath);
            else File.Move(tempPath, blobPath, overwrite: true);

            using (var connection = Open())
            using (var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(CancellationToken.None).ConfigureAwait(false))
            {
                using (var insert = connection.CreateCommand())
                {
                    insert.Transaction = transaction;
                    insert.CommandText = """
                        INSERT INTO model_files (model_id, version, ordinal, name, sha256, size_bytes) VALUES ($m, $v, 0, $name, $sha, $size);
                        UPDATE model_versions SET status = 'ready', size_bytes = $size, signature = $signature WHERE model_id = $m AND version = $v;
                        UPDATE models SET default_version = COALESCE(default_version, $v), updated_at = $now WHERE id = $m;
                        """;
                    insert.Parameters.AddWithValue("$m", model.Id);
                    insert.Parameters.AddWithValue("$v", version);
                    insert.Parameters.AddWithValue("$name", safeName);
                    insert.Parameters.AddWithValue("$sha", sha256);
                    insert.Parameters.AddWithValue("$size", size);
                    insert.Parameters.AddWithValue("$signature", signature is null ? DBNull.Value : SignatureJson.Serialize(signature));
                    insert.Parameters.AddWithValue("$now", Format(_timeProvider.GetUtcNow()));
                    await insert.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                }

                await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            Log.ModelRegistered(_logger, model.Id, version, size, sha256);
            RaiseChanged(new ModelRegistryChange(ModelRegistryChangeKind.VersionReady, model.Id, version));
            var updated = await GetModelAsync(model.Id, CancellationToken.None).ConfigureAwait(false);
            return updated.FindVersion(version)!;
        }
        catch (Exception ex)
        {
            TryDelete(tempPath);
            await DeleteRowsAsync(model.Id, version).ConfigureAwait(false);
            if (ex is not OperationCanceledException) Log.RegistrationFailed(_logger, model.Id, version, ex);
            throw;
        }
    }

    // Inserts the version row as 'uploading' so that a concurrent upload of the same version fails fast.
    private async Task<string> ReserveVersionAsync(string modelId, string? version)
    {
        using var connection = Open();
        for (var attempt = 0; ; attempt++)
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO model_versions (model_id, version, seq, status, created_at)
                VALUES ($m, COALESCE($v, CAST((SELECT COALESCE(MAX(seq), 0) + 1 FROM model_versions WHERE model_id = $m) AS TEXT)),
                        (SELECT COALESCE(MAX(seq), 0) + 1 FROM model_versions WHERE model_id = $m), 'uploading', $now)
                RETURNING version
                """;
            command.Parameters.AddWithValue("$m", modelId);
            command.Parameters.AddWithValue("$v", (object?)version ?? DBNull.Value);
            command.Parameters.AddWithValue("$now", Format(_timeProvider.GetUtcNow()));
            try
            {
                return (string)(await command.ExecuteScalarAsync().ConfigureAwait(false))!;
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
            {
                if (version is not null) throw new ModelAlreadyExistsException($"Model '{modelId}' already has a version '{version}'.");
                if (attempt >= 5) throw;
            }
        }
    }

    private async Task<(string Sha256, long Size)> StreamToTempAsync(Stream content, string tempPath, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        long size = 0;
        try
        {
            using var file = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            int read;
            while ((read = await content.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
            {
                size += read;
                if (size > _maxArtifactBytes)
                {
                    throw new PayloadTooLargeException($"The artifact is larger than the limit of {_maxArtifactBytes} bytes (ModelKitOptions.MaxArtifactBytes).");
                }

                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        if (size == 0) throw new InvalidModelConfigException("The artifact is empty.");
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }

    private async Task<ModelSignature?> ValidateAsync(string framework, string path, CancellationToken cancellationToken)
    {
        // Frameworks without a backend are stored unchecked (no signature); they cannot be served until one is added.
        if (InferenceBackends.Find(_backends, framework) is not { } backend) return null;
        using var session = await backend.LoadAsync(new ModelLoadRequest(path) { Framework = framework, IntraOpThreads = 1 }, cancellationToken).ConfigureAwait(false);
        return session.Signature;
    }

    /// <inheritdoc />
    public async Task<ModelInfo> GetModelAsync(string modelId, CancellationToken cancellationToken = default) =>
        await FindModelAsync(modelId, cancellationToken).ConfigureAwait(false)
        ?? throw new ModelNotFoundException($"Model '{modelId}' does not exist.");

    /// <inheritdoc />
    public async Task<ModelInfo?> FindModelAsync(string modelId, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(modelId)) return null;
        using var connection = Open();
        var models = await QueryModelsAsync(connection, "WHERE m.id = $id", [new("$id", modelId)], cancellationToken).ConfigureAwait(false);
        return models.Count == 0 ? null : models[0];
    }

    /// <inheritdoc />
    public async Task<ModelPage> ListModelsAsync(ModelQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Offset < 0) throw new InvalidInputException($"'offset' must be 0 or more (was {query.Offset}).");
        if (query.Limit is < 1 or > 1000) throw new InvalidInputException($"'limit' must be 1..1000 (was {query.Limit}).");
        var where = new StringBuilder("WHERE 1 = 1");
        var parameters = new List<SqliteParameter>();
        if (query.Framework is not null)
        {
            where.Append(" AND m.framework = $framework COLLATE NOCASE");
            parameters.Add(new("$framework", query.Framework));
        }

        if (query.Task is not null)
        {
            where.Append(" AND m.task = $task COLLATE NOCASE");
            parameters.Add(new("$task", query.Task));
        }

        if (query.Favorite is { } favorite)
        {
            where.Append(" AND m.favorite = $favorite");
            parameters.Add(new("$favorite", favorite ? 1 : 0));
        }

        if (query.Status is { } status)
        {
            where.Append(status == ModelVersionStatus.Uploading
                ? " AND (m.default_version IS NULL OR EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id AND v.version = m.default_version AND v.status = $status))"
                : " AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id AND v.version = m.default_version AND v.status = $status)");
            parameters.Add(new("$status", StatusName(status)));
        }

        if (!string.IsNullOrWhiteSpace(query.Text))
        {
            where.Append(" AND (m.id LIKE $text ESCAPE '\\' OR m.name LIKE $text ESCAPE '\\' OR m.description LIKE $text ESCAPE '\\' OR m.tags LIKE $text ESCAPE '\\')");
            var escaped = query.Text.Trim().Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
            parameters.Add(new("$text", "%" + escaped + "%"));
        }

        using var connection = Open();
        int total;
        using (var count = connection.CreateCommand())
        {
            count.CommandText = $"SELECT COUNT(*) FROM models m {where}";
            foreach (var p in parameters) count.Parameters.Add(new SqliteParameter(p.ParameterName, p.Value));
            total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        }

        where.Append(" ORDER BY m.created_at, m.id LIMIT $limit OFFSET $offset");
        parameters.Add(new("$limit", query.Limit));
        parameters.Add(new("$offset", query.Offset));
        var items = await QueryModelsAsync(connection, where.ToString(), parameters, cancellationToken).ConfigureAwait(false);
        return new ModelPage(items, total, query.Offset, query.Limit);
    }

    /// <inheritdoc />
    public async Task<ModelInfo> UpdateModelAsync(string modelId, ModelUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var model = await GetModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        var errors = new List<string>();
        if (update.Name is { } name && (string.IsNullOrWhiteSpace(name) || name.Length > 256)) errors.Add("'name' must be 1-256 characters.");
        if (update.Description is { Length: > MaxTextLength }) errors.Add($"'description' must be at most {MaxTextLength} characters.");
        if (update.DefaultVersion is { } dv)
        {
            var v = model.FindVersion(dv);
            if (v is null) errors.Add($"'default_version' names version '{dv}', which model '{modelId}' does not have.");
            else if (v.Status != ModelVersionStatus.Ready) errors.Add($"'default_version' names version '{dv}', which is {StatusName(v.Status)}, not ready.");
        }

        if (errors.Count > 0) throw new InvalidModelConfigException(string.Join(" ", errors));
        using var connection = Open();
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
            WHERE id = $id
            """;
        command.Parameters.AddWithValue("$id", model.Id);
        command.Parameters.AddWithValue("$name", (object?)update.Name?.Trim() ?? DBNull.Value);
        command.Parameters.AddWithValue("$description", (object?)update.Description ?? DBNull.Value);
        command.Parameters.AddWithValue("$task", (object?)update.Task ?? DBNull.Value);
        command.Parameters.AddWithValue("$tags", update.Tags is null ? DBNull.Value : JsonSerializer.Serialize(update.Tags));
        command.Parameters.AddWithValue("$metadata", update.Metadata is null ? DBNull.Value : JsonSerializer.Serialize(update.Metadata));
        command.Parameters.AddWithValue("$favorite", update.Favorite is { } f ? (f ? 1 : 0) : DBNull.Value);
        command.Parameters.AddWithValue("$default_version", (object?)update.DefaultVersion ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", Format(_timeProvider.GetUtcNow()));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        RaiseChanged(new ModelRegistryChange(ModelRegistryChangeKind.ModelUpdated, model.Id));
        return await GetModelAsync(model.Id, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DeleteModelAsync(string modelId, bool force = false, CancellationToken cancellationToken = default)
    {
        var model = await GetModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        var inUse = EnsureNotInUse(model.Id, null, force);
        await DeleteRowsAsync(model.Id, null).ConfigureAwait(false);
        Log.ModelDeleted(_logger, model.Id);
        RaiseChanged(new ModelRegistryChange(ModelRegistryChangeKind.ModelDeleted, model.Id));
        if (inUse) NotifyForcedDelete(model.Id, null);
    }

    /// <inheritdoc />
    public async Task DeleteVersionAsync(string modelId, string version, bool force = false, CancellationToken cancellationToken = default)
    {
        var model = await GetModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        if (model.FindVersion(version) is null) throw new ModelNotFoundException($"Model '{modelId}' has no version '{version}'.");
        var inUse = EnsureNotInUse(model.Id, version, force);
        await DeleteRowsAsync(model.Id, version).ConfigureAwait(false);
        RaiseChanged(new ModelRegistryChange(ModelRegistryChangeKind.VersionDeleted, model.Id, version));
        if (inUse) NotifyForcedDelete(model.Id, version);
    }

    // Throws CONFLICT when a guard reports the model in use, unless forced; returns whether it was in use.
    private bool EnsureNotInUse(string modelId, string? version, bool force)
    {
        var inUse = false;
        foreach (var guard in _guards)
        {
            if (guard.GetUsage(modelId, version) is { } usage)
            {
                if (!force) throw new ModelKitConflictException($"Model '{modelId}' is in use ({usage}); undeploy it first or pass force=true.");
                inUse = true;
            }
        }

        return inUse;
    }

    /// <inheritdoc />
    public event EventHandler<ModelRegistryChange>? Changed;

    private void RaiseChanged(ModelRegistryChange change) => Changed?.Invoke(this, change);

    /// <inheritdoc />
    public async Task VerifyArtifactsAsync(ModelVersionInfo version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(version);
        foreach (var file in version.Files)
        {
            if (_verified.ContainsKey(file.Sha256) && File.Exists(file.Path)) continue;
            string actual;
            try
            {
                using var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
                actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Log.ArtifactUnavailable(_logger, version.ModelId, version.Version, file.Path, ex);
                throw new ModelUnavailableException(
                    $"Version '{version.Version}' of model '{version.ModelId}' cannot be served: its artifact '{file.Name}' is missing or unreadable on the server. Upload the version again.", ex);
            }

            if (!string.Equals(actual, file.Sha256, StringComparison.Ordinal))
            {
                Log.ArtifactUnavailable(_logger, version.ModelId, version.Version, file.Path, null);
                throw new ModelUnavailableException(
                    $"Version '{version.Version}' of model '{version.ModelId}' cannot be served: its artifact '{file.Name}' does not match its recorded sha256 (the stored file is corrupt). Upload the version again.");
            }

            _verified[file.Sha256] = true;
        }
    }

    private void NotifyForcedDelete(string modelId, string? version)
    {
        foreach (var guard in _guards) guard.OnForcedDelete(modelId, version);
    }

    // Deletes a version (or the whole model when version is null) and any blobs no longer referenced.
    private async Task DeleteRowsAsync(string modelId, string? version)
    {
        var hashes = new List<string>();
        using var connection = Open();
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync().ConfigureAwait(false);
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = "SELECT DISTINCT sha256 FROM model_files WHERE model_id = $m AND ($v IS NULL OR version = $v)";
            select.Parameters.AddWithValue("$m", modelId);
            select.Parameters.AddWithValue("$v", (object?)version ?? DBNull.Value);
            using var reader = await select.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false)) hashes.Add(reader.GetString(0));
        }

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
            await delete.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        var orphans = new List<string>();
        foreach (var sha in hashes)
        {
            using var check = connection.CreateCommand();
            check.Transaction = transaction;
            check.CommandText = "SELECT COUNT(*) FROM model_files WHERE sha256 = $sha";
            check.Parameters.AddWithValue("$sha", sha);
            if (Convert.ToInt64(await check.ExecuteScalarAsync().ConfigureAwait(false), CultureInfo.InvariantCulture) == 0) orphans.Add(sha);
        }

        await transaction.CommitAsync().ConfigureAwait(false);
        foreach (var sha in orphans)
        {
            _verified.TryRemove(sha, out _);
            TryDelete(BlobPath(sha));
        }
    }

    private async Task<List<ModelInfo>> QueryModelsAsync(SqliteConnection connection, string where, List<SqliteParameter> parameters, CancellationToken cancellationToken)
    {
        var models = new List<ModelInfo>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT m.id, m.name, m.description, m.framework, m.task, m.tags, m.metadata, m.favorite, m.default_version, m.created_at, m.updated_at FROM models m {where}";
            foreach (var p in parameters) command.Parameters.Add(new SqliteParameter(p.ParameterName, p.Value));
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                models.Add(new ModelInfo
                {
                    Id = reader.GetString(0),
                    Name = reader.GetString(1),
                    Description = reader.IsDBNull(2) ? null : reader.GetString(2),
                    Framework = reader.GetString(3),
                    Task = reader.IsDBNull(4) ? null : reader.GetString(4),
                    Tags = JsonSerializer.Deserialize<List<string>>(reader.GetString(5)) ?? [],
                    Metadata = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(6)) ?? [],
                    Favorite = reader.GetInt64(7) != 0,
                    DefaultVersion = reader.IsDBNull(8) ? null : reader.GetString(8),
                    CreatedAt = Parse(reader.GetString(9)),
                    UpdatedAt = Parse(reader.GetString(10)),
                });
            }
        }

        if (models.Count == 0) return models;
        var versions = new Dictionary<string, List<ModelVersionInfo>>();
        var files = new Dictionary<(string, string), List<ModelArtifactFile>>();
        var ids = new StringBuilder();
        using (var command = connection.CreateCommand())
        {
            for (var i = 0; i < models.Count; i++)
            {
                ids.Append(i == 0 ? "$id0" : $", $id{i}");
                command.Parameters.AddWithValue($"$id{i}", models[i].Id);
            }

            command.CommandText = $"""
                SELECT model_id, version, ordinal, name, sha256, size_bytes FROM model_files WHERE model_id IN ({ids}) ORDER BY ordinal;
                SELECT model_id, version, status, size_bytes, signature, error, created_at FROM model_versions WHERE model_id IN ({ids}) ORDER BY seq;
                """;
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var key = (reader.GetString(0), reader.GetString(1));
                if (!files.TryGetValue(key, out var list)) files[key] = list = [];
                var sha = reader.GetString(4);
                list.Add(new ModelArtifactFile { Name = reader.GetString(3), Sha256 = sha, SizeBytes = reader.GetInt64(5), Path = BlobPath(sha) });
            }

            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var modelId = reader.GetString(0);
                var version = reader.GetString(1);
                var versionFiles = files.GetValueOrDefault((modelId, version)) ?? [];
                if (!versions.TryGetValue(modelId, out var list)) versions[modelId] = list = [];
                list.Add(new ModelVersionInfo
                {
                    ModelId = modelId,
                    Version = version,
                    Status = ParseStatus(reader.GetString(2)),
                    SizeBytes = reader.GetInt64(3),
                    Signature = reader.IsDBNull(4) ? null : SignatureJson.Deserialize(reader.GetString(4)),
                    Error = reader.IsDBNull(5) ? null : reader.GetString(5),
                    CreatedAt = Parse(reader.GetString(6)),
                    Sha256 = versionFiles.Count > 0 ? versionFiles[0].Sha256 : null,
                    Files = versionFiles,
                });
            }
        }

        for (var i = 0; i < models.Count; i++)
        {
            models[i] = models[i] with { Versions = versions.GetValueOrDefault(models[i].Id) ?? [] };
        }

        return models;
    }

    private string BlobPath(string sha256) => Path.Combine(_blobRoot, sha256[..2], sha256);

    private static string ValidateFileName(string? fileName)
    {
        if (string.IsNullOrWhiteSpace(fileName)) throw new InvalidModelConfigException("The artifact's file name is required.");
        if (fileName.Contains('/', StringComparison.Ordinal) || fileName.Contains('\\', StringComparison.Ordinal) || fileName is "." or ".." ||
            fileName.Contains("..", StringComparison.Ordinal) || fileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || fileName.Length > 255)
        {
            throw new InvalidModelConfigException($"The file name '{fileName}' is not allowed: give a plain name without directories or '..'.");
        }

        return fileName;
    }

    private static string Slugify(string name)
    {
        var sb = new StringBuilder();
        foreach (var c in name.Trim().ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') sb.Append(c);
            else if (sb.Length > 0 && sb[^1] != '-') sb.Append('-');
        }

        return sb.ToString().Trim('-', '.', '_');
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Another process may hold it; the blob stays, which wastes space but loses nothing.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    internal static string StatusName(ModelVersionStatus status) => status switch
    {
        ModelVersionStatus.Uploading => "uploading",
        ModelVersionStatus.Ready => "ready",
        _ => "failed",
    };

    private static ModelVersionStatus ParseStatus(string s) => s switch
    {
        "uploading" => ModelVersionStatus.Uploading,
        "ready" => ModelVersionStatus.Ready,
        _ => ModelVersionStatus.Failed,
    };

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static class SignatureJson
    {
        private sealed record Spec(string Name, string Type, long[] Shape);

        private sealed record Doc(Spec[] Inputs, Spec[] Outputs);

        public static string Serialize(ModelSignature signature) => JsonSerializer.Serialize(new Doc(Map(signature.Inputs), Map(signature.Outputs)));

        public static ModelSignature? Deserialize(string json)
        {
            var doc = JsonSerializer.Deserialize<Doc>(json);
            return doc is null ? null : new ModelSignature(Unmap(doc.Inputs), Unmap(doc.Outputs));
        }

        private static Spec[] Map(IReadOnlyList<TensorSpec> specs)
        {
            var result = new Spec[specs.Count];
            for (var i = 0; i < result.Length; i++) result[i] = new Spec(specs[i].Name, specs[i].ElementType.GetName(), [.. specs[i].Shape]);
            return result;
        }

        private static TensorSpec[] Unmap(Spec[] specs)
        {
            var result = new TensorSpec[specs.Length];
            for (var i = 0; i < result.Length; i++)
            {
                _ = TensorElementTypes.TryParse(specs[i].Type, out var type);
                result[i] = new TensorSpec(specs[i].Name, type, specs[i].Shape);
            }

            return result;
        }
    }
}
