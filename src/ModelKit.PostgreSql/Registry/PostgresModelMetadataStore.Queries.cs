using System.Text;
using System.Text.Json;
using Npgsql;

namespace ModelKit.Registry;

// Reading models with their versions and files.
internal sealed partial class PostgresModelMetadataStore
{
    /// <inheritdoc />
    public async Task<ModelInfo?> FindModelAsync(string modelId, CancellationToken cancellationToken = default)
    {
        using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var models = await QueryModelsAsync(connection, "WHERE m.id = @id", [new("id", modelId)], cancellationToken).ConfigureAwait(false);
        return models.Count == 0 ? null : models[0];
    }

    /// <inheritdoc />
    public async Task<ModelPage> ListModelsAsync(ModelQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new StringBuilder("WHERE TRUE");
        var parameters = new List<NpgsqlParameter>();
        if (query.Framework is not null)
        {
            where.Append(" AND lower(m.framework) = lower(@framework)");
            parameters.Add(new("framework", query.Framework));
        }

        if (query.Task is not null)
        {
            where.Append(" AND lower(m.task) = lower(@task)");
            parameters.Add(new("task", query.Task));
        }

        if (query.Favorite is { } favorite)
        {
            where.Append(" AND m.favorite = @favorite");
            parameters.Add(new("favorite", favorite));
        }

        if (query.Status is { } status)
        {
            where.Append(status == ModelVersionStatus.Uploading
                ? " AND (m.default_version IS NULL OR EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id AND v.version = m.default_version AND v.status = @status))"
                : " AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id AND v.version = m.default_version AND v.status = @status)");
            parameters.Add(new("status", ModelVersionStatusNames.Name(status)));
        }

        if (!string.IsNullOrWhiteSpace(query.Text))
        {
            // ILIKE: case-insensitive, as SQLite's LIKE is for ASCII.
            where.Append(@" AND (m.id ILIKE @text ESCAPE '\' OR m.name ILIKE @text ESCAPE '\' OR m.description ILIKE @text ESCAPE '\' OR m.tags ILIKE @text ESCAPE '\')");
            var escaped = query.Text.Trim().Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
            parameters.Add(new("text", "%" + escaped + "%"));
        }

        using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        int total;
        using (var count = new NpgsqlCommand($"SELECT COUNT(*) FROM models m {where}", connection))
        {
            foreach (var p in parameters) count.Parameters.Add(p.Clone());
            total = (int)(long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        // COLLATE "C": the order of the text times and ids by their bytes, as SQLite sorts them, whatever the database's locale.
        where.Append(" ORDER BY m.created_at COLLATE \"C\", m.id COLLATE \"C\" LIMIT @limit OFFSET @offset");
        parameters.Add(new("limit", query.Limit));
        parameters.Add(new("offset", query.Offset));
        var items = await QueryModelsAsync(connection, where.ToString(), parameters, cancellationToken).ConfigureAwait(false);
        return new ModelPage(items, total, query.Offset, query.Limit);
    }

    private static async Task<List<ModelInfo>> QueryModelsAsync(NpgsqlConnection connection, string where, List<NpgsqlParameter> parameters, CancellationToken cancellationToken)
    {
        var models = new List<ModelInfo>();
        using (var command = new NpgsqlCommand(
            $"SELECT m.id, m.name, m.description, m.framework, m.task, m.tags, m.metadata, m.favorite, m.default_version, m.created_at, m.updated_at FROM models m {where}", connection))
        {
            foreach (var p in parameters) command.Parameters.Add(p.Clone());
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
                    Favorite = reader.GetBoolean(7),
                    DefaultVersion = reader.IsDBNull(8) ? null : reader.GetString(8),
                    CreatedAt = Parse(reader.GetString(9)),
                    UpdatedAt = Parse(reader.GetString(10)),
                });
            }
        }

        if (models.Count == 0) return models;
        var versions = new Dictionary<string, List<ModelVersionInfo>>();
        var files = new Dictionary<(string, string), List<ModelArtifactFile>>();
        using (var command = new NpgsqlCommand("""
            SELECT model_id, version, ordinal, name, sha256, size_bytes FROM model_files WHERE model_id = ANY(@ids) ORDER BY ordinal;
            SELECT model_id, version, status, size_bytes, signature, error, created_at FROM model_versions WHERE model_id = ANY(@ids) ORDER BY seq;
            """, connection))
        {
            command.Parameters.AddWithValue("ids", models.Select(m => m.Id).ToArray());
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var key = (reader.GetString(0), reader.GetString(1));
                if (!files.TryGetValue(key, out var list)) files[key] = list = [];
                list.Add(new ModelArtifactFile { Name = reader.GetString(3), Sha256 = reader.GetString(4), SizeBytes = reader.GetInt64(5) });
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
                    Status = ModelVersionStatusNames.Parse(reader.GetString(2)),
                    SizeBytes = reader.GetInt64(3),
                    Signature = reader.IsDBNull(4) ? null : ModelSignatureJson.Deserialize(reader.GetString(4)),
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
}
