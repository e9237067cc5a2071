using System.Text;
using Npgsql;

namespace ModelKit.Registry;

// Reading models with their versions and files.
internal sealed partial class PostgresModelMetadataStore
{
    /// <inheritdoc />
    public async Task<ModelInfo?> FindModelAsync(string modelId, CancellationToken cancellationToken = default)
    {
        using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var snapshot = await BeginSnapshotAsync(connection, cancellationToken).ConfigureAwait(false);
        var models = await QueryModelsAsync(connection, "WHERE m.id = @id", [new("id", modelId)], cancellationToken).ConfigureAwait(false);
        await snapshot.CommitAsync(cancellationToken).ConfigureAwait(false);
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
        using var snapshot = await BeginSnapshotAsync(connection, cancellationToken).ConfigureAwait(false);
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
        await snapshot.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new ModelPage(items, total, query.Offset, query.Limit);
    }

    // The model, its versions and their files are read in several statements; one snapshot makes them agree (a version
    // another node completes meanwhile is seen with its files or not at all), as SQLite's read transaction does.
    private static async ValueTask<NpgsqlTransaction> BeginSnapshotAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        using var readOnly = new NpgsqlCommand("SET TRANSACTION READ ONLY", connection, transaction);
        await readOnly.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return transaction;
    }

    private static async Task<List<ModelInfo>> QueryModelsAsync(NpgsqlConnection connection, string where, List<NpgsqlParameter> parameters, CancellationToken cancellationToken)
    {
        List<ModelInfo> models;
        using (var command = new NpgsqlCommand($"SELECT {ModelRows.ModelColumns} FROM models m {where}", connection))
        {
            foreach (var p in parameters) command.Parameters.Add(p.Clone());
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            models = await ModelRows.ReadModelsAsync(reader, cancellationToken).ConfigureAwait(false);
        }

        if (models.Count == 0) return models;
        using (var command = new NpgsqlCommand($"""
            SELECT {ModelRows.FileColumns} FROM model_files WHERE model_id = ANY(@ids) ORDER BY ordinal;
            SELECT {ModelRows.VersionColumns} FROM model_versions WHERE model_id = ANY(@ids) ORDER BY seq;
            """, connection))
        {
            command.Parameters.AddWithValue("ids", models.Select(m => m.Id).ToArray());
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await ModelRows.AttachVersionsAsync(models, reader, cancellationToken).ConfigureAwait(false);
        }

        return models;
    }
}
