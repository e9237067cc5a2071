using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;

namespace ModelKit.Downloads;

/// <summary>A task as stored: what was asked, the plan made for it, and where it stands. Bytes received live in its files.</summary>
internal sealed record PersistedDownload
{
    public required string Id { get; init; }
    public required string Source { get; init; }
    public required DownloadRequest Request { get; init; }
    public required ModelSourcePlan Plan { get; init; }
    public required string TargetModelId { get; init; }
    public required DownloadStatus Status { get; init; }
    public DownloadFailure? Error { get; init; }
    public string? RegisteredVersion { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
}

/// <summary>
/// Download tasks in <c>downloads.db</c> under the data directory (SQLite), one JSON record a row, written at every change
/// of state so that a restarted process finds its queue. Progress is not written: the partial files are the truth.
/// </summary>
internal sealed class DownloadTaskStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    private readonly string _connectionString;
    private int _created;

    /// <summary>Records skipped by the last <see cref="LoadAsync"/> because they could not be read.</summary>
    public int Unreadable { get; private set; }

    public DownloadTaskStore(string databasePath)
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(databasePath),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public async Task<List<PersistedDownload>> LoadAsync(CancellationToken cancellationToken)
    {
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT record FROM download_tasks ORDER BY created_at, id";
        var tasks = new List<PersistedDownload>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                if (JsonSerializer.Deserialize<PersistedDownload>(reader.GetString(0), Json) is { } task) tasks.Add(task);
            }
            catch (JsonException)
            {
                // A record this version cannot read (written by another version, or damaged) is skipped, not fatal.
                Unreadable++;
            }
        }

        return tasks;
    }

    public async Task SaveAsync(PersistedDownload task, CancellationToken cancellationToken = default)
    {
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO download_tasks (id, status, created_at, record) VALUES ($id, $status, $created, $record)
            ON CONFLICT(id) DO UPDATE SET status = excluded.status, record = excluded.record
            """;
        command.Parameters.AddWithValue("$id", task.Id);
        command.Parameters.AddWithValue("$status", task.Status.ToString());
        command.Parameters.AddWithValue("$created", task.CreatedAt.UtcTicks);
        command.Parameters.AddWithValue("$record", JsonSerializer.Serialize(task, Json));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM download_tasks WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (Volatile.Read(ref _created) == 0)
            {
                using var command = connection.CreateCommand();
                command.CommandText = """
                    PRAGMA journal_mode = WAL;
                    CREATE TABLE IF NOT EXISTS download_tasks (
                        id TEXT PRIMARY KEY,
                        status TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        record TEXT NOT NULL);
                    """;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _created, 1);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
