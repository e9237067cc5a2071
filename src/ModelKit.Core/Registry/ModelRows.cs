using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace ModelKit.Registry;

// Reading models, versions and files from a metadata store's rows, the same for every SQL store (SQLite, PostgreSQL):
// the column orders below are what their queries select.
internal static class ModelRows
{
    // m.id, m.name, m.description, m.framework, m.task, m.tags, m.metadata, m.favorite, m.default_version, m.created_at, m.updated_at
    public const string ModelColumns = "m.id, m.name, m.description, m.framework, m.task, m.tags, m.metadata, m.favorite, m.default_version, m.created_at, m.updated_at";

    // Two result sets, each filtered by the query that embeds them: the files, then the versions.
    public const string FileColumns = "model_id, version, ordinal, name, sha256, size_bytes";
    public const string VersionColumns = "model_id, version, status, size_bytes, signature, error, created_at";

    public static async Task<List<ModelInfo>> ReadModelsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        var models = new List<ModelInfo>();
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
                Favorite = Convert.ToBoolean(reader.GetValue(7), CultureInfo.InvariantCulture), // SQLite: 0/1; PostgreSQL: boolean
                DefaultVersion = reader.IsDBNull(8) ? null : reader.GetString(8),
                CreatedAt = ParseTime(reader.GetString(9)),
                UpdatedAt = ParseTime(reader.GetString(10)),
            });
        }

        return models;
    }

    // Reads the files' result set, then the versions' (ordered by seq), and gives each model its versions.
    public static async Task AttachVersionsAsync(List<ModelInfo> models, DbDataReader reader, CancellationToken cancellationToken)
    {
        var versions = new Dictionary<string, List<ModelVersionInfo>>();
        var files = new Dictionary<(string, string), List<ModelArtifactFile>>();
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
                CreatedAt = ParseTime(reader.GetString(6)),
                Sha256 = versionFiles.Count > 0 ? versionFiles[0].Sha256 : null,
                Files = versionFiles,
            });
        }

        for (var i = 0; i < models.Count; i++)
        {
            models[i] = models[i] with { Versions = versions.GetValueOrDefault(models[i].Id) ?? [] };
        }
    }

    // model_id, version, upload_token of the uploading versions.
    public static async Task<IReadOnlyList<PendingUpload>> ReadUploadsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        var uploads = new List<PendingUpload>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            uploads.Add(new PendingUpload(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return uploads;
    }

    // Times are ISO 8601 text in UTC to the tick in both stores: they sort as text and round-trip exactly.
    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseTime(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
