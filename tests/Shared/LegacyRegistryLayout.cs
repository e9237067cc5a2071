using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace ModelKit.Tests;

/// <summary>
/// Writes a data directory as the first releases of the registry left it: <c>registry.db</c> with their schema
/// (SqliteModelRegistry.InitializeSchema, no upload tokens, PRAGMA user_version 0), one file per version stored as
/// <c>blobs/sha256/ab/abcd…</c>, and uploads in flight as <c>tmp/{guid}.part</c>.
/// </summary>
public sealed class LegacyRegistryLayout
{
    // Verbatim from the first release's SqliteModelRegistry.InitializeSchema.
    private const string Schema = """
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

    private readonly string _root;

    public LegacyRegistryLayout(string dataDirectory)
    {
        _root = dataDirectory;
        Directory.CreateDirectory(Path.Combine(_root, "blobs", "sha256"));
        Directory.CreateDirectory(Path.Combine(_root, "tmp"));
        Execute(Schema);
    }

    public void AddModel(string id, string name, string? defaultVersion, string framework = "onnx") => Execute(
        "INSERT INTO models (id, name, framework, default_version, created_at, updated_at) VALUES ($id, $name, $framework, $default, '2024-05-01T10:00:00.0000000Z', '2024-05-01T10:00:00.0000000Z')",
        ("$id", id), ("$name", name), ("$framework", framework), ("$default", defaultVersion));

    /// <summary>A ready version of one file, stored the way the first releases stored it; returns the blob's path.</summary>
    public string AddReadyVersion(string modelId, string version, int seq, string fileName, byte[] content)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(content));
        var blob = Path.Combine(_root, "blobs", "sha256", sha[..2], sha);
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        File.WriteAllBytes(blob, content);
        Execute(
            """
            INSERT INTO model_versions (model_id, version, seq, status, size_bytes, created_at) VALUES ($m, $v, $seq, 'ready', $size, '2024-05-01T10:00:01.0000000Z');
            INSERT INTO model_files (model_id, version, ordinal, name, sha256, size_bytes) VALUES ($m, $v, 0, $name, $sha, $size);
            """,
            ("$m", modelId), ("$v", version), ("$seq", seq), ("$size", content.Length), ("$name", fileName), ("$sha", sha));
        return blob;
    }

    /// <summary>A version whose upload was cut off by a crash: its row left 'uploading' and its half-written temp file.</summary>
    public string AddInterruptedUpload(string modelId, string version, int seq)
    {
        Execute(
            "INSERT INTO model_versions (model_id, version, seq, status, created_at) VALUES ($m, $v, $seq, 'uploading', '2024-05-01T10:00:02.0000000Z')",
            ("$m", modelId), ("$v", version), ("$seq", seq));
        var part = Path.Combine(_root, "tmp", $"{Guid.NewGuid():N}.part");
        File.WriteAllText(part, "half an upload");
        return part;
    }

    private void Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_root, "registry.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        command.ExecuteNonQuery();
    }
}
