using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace ModelKit.Registry;

// Reading models with their versions and files.
internal sealed partial class SqliteModelMetadataStore
{
    /// <inheritdoc />
    public async Task<ModelInfo?> FindModelAsync(string modelId, CancellationToken cancellationToken = default)
    {
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var models = await QueryModelsAsync(connection, "WHERE m.id = $id", [new("$id", modelId)], cancellationToken).ConfigureAwait(false);
        return models.Count == 0 ? null : models[0];
    }

    /// <inheritdoc />
    public async Task<ModelPage> ListModelsAsync(ModelQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
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
            parameters.Add(new("$status", ModelVersionStatusNames.Name(status)));
        }

        if (!string.IsNullOrWhiteSpace(query.Text))
        {
            where.Append(" AND (m.id LIKE $text ESCAPE '\\' OR m.name LIKE $text ESCAPE '\\' OR m.description LIKE $text ESCAPE '\\' OR m.tags LIKE $text ESCAPE '\\')");
            var escaped = query.Text.Trim().Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
            parameters.Add(new("$text", "%" + escaped + "%"));
        }

        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
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

    private static async Task<List<ModelInfo>> QueryModelsAsync(SqliteConnection connection, string where, List<SqliteParameter> parameters, CancellationToken cancellationToken)
    {
        List<ModelInfo> models;
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT {ModelRows.ModelColumns} FROM models m {where}";
            foreach (var p in parameters) command.Parameters.Add(new SqliteParameter(p.ParameterName, p.Value));
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            models = await ModelRows.ReadModelsAsync(reader, cancellationToken).ConfigureAwait(false);
        }

        if (models.Count == 0) return models;
        var ids = new StringBuilder();
        using (var command = connection.CreateCommand())
        {
            for (var i = 0; i < models.Count; i++)
            {
                ids.Append(i == 0 ? "$id0" : $", $id{i}");
                command.Parameters.AddWithValue($"$id{i}", models[i].Id);
            }

            command.CommandText = $"""
                SELECT {ModelRows.FileColumns} FROM model_files WHERE model_id IN ({ids}) ORDER BY ordinal;
                SELECT {ModelRows.VersionColumns} FROM model_versions WHERE model_id IN ({ids}) ORDER BY seq;
                """;
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await ModelRows.AttachVersionsAsync(models, reader, cancellationToken).ConfigureAwait(false);
        }

        return models;
    }
}
