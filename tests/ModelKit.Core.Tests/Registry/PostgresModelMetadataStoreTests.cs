using ModelKit.Registry;
using Npgsql;

namespace ModelKit.Tests.Registry;

// Two nodes (two stores, each with its own connections) writing to one PostgreSQL registry at once.
public sealed class PostgresModelMetadataStoreTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private readonly List<NpgsqlDataSource> _sources = [];
    private PostgresModelMetadataStore _a = null!;
    private PostgresModelMetadataStore _b = null!;

    public async Task InitializeAsync()
    {
        var first = await server.CreateDatabaseAsync();
        _sources.Add(first);
        _sources.Add(NpgsqlDataSource.Create(first.ConnectionString));
        (_a, _b) = (new PostgresModelMetadataStore(_sources[0]), new PostgresModelMetadataStore(_sources[1]));
        await Task.WhenAll(_a.InitializeAsync(), _b.InitializeAsync()); // both migrate at once: one creates, one finds it done
    }

    public async Task DisposeAsync()
    {
        foreach (var source in _sources) await source.DisposeAsync();
    }

    private static ModelInfo Model(string id) => new() { Id = id, Name = id, Framework = "onnx", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow };

    [Fact]
    public async Task TryCreateModel_SameIdFromTwoNodesAtOnce_ExactlyOneWins()
    {
        var attempts = Enumerable.Range(0, 16).Select(i => Task.Run(() => (i % 2 == 0 ? _a : _b).TryCreateModelAsync(Model("same"))));
        var results = await Task.WhenAll(attempts);
        Assert.Equal(1, results.Count(created => created));
        Assert.NotNull(await _b.FindModelAsync("same"));
    }

    [Fact]
    public async Task TryReserveVersion_NumberedFromTwoNodesAtOnce_EveryReservationGetsItsOwnNumber()
    {
        Assert.True(await _a.TryCreateModelAsync(Model("m")));
        var reservations = Enumerable.Range(0, 40).Select(i => Task.Run(() =>
            (i % 2 == 0 ? _a : _b).TryReserveVersionAsync("m", null, $"token-{i}", DateTimeOffset.UtcNow)));
        var labels = await Task.WhenAll(reservations);

        Assert.All(labels, Assert.NotNull);
        Assert.Equal(Enumerable.Range(1, 40).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(), labels.Order());
        var uploads = await _a.ListUploadsAsync();
        Assert.Equal(40, uploads.Count(u => u.ModelId == "m"));
    }

    [Fact]
    public async Task DeleteAndCompleteSharingContent_FromTwoNodesAtOnce_ContentIsNeverReleasedWhileReferenced()
    {
        // Node A deletes a model whose only file is content X while node B completes an upload of the same content into
        // another model: afterwards the content must still exist, as B's version references it.
        const string sha = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for (var round = 0; round < 10; round++)
        {
            var stored = new HashSet<string>();
            var gate = new object();
            var (old, next) = ($"old-{round}", $"new-{round}");
            Assert.True(await _a.TryCreateModelAsync(Model(old)));
            Assert.True(await _b.TryCreateModelAsync(Model(next)));
            var v1 = await _a.TryReserveVersionAsync(old, null, "t-old", DateTimeOffset.UtcNow);
            Assert.True(await _a.CompleteVersionAsync(Commit(old, v1!, "t-old"), _ => Store()));
            var v2 = await _b.TryReserveVersionAsync(next, null, "t-new", DateTimeOffset.UtcNow);

            // Node B stores the content and holds its transaction open; node A's delete starts then. B commits once A waits
            // on a lock (or has finished: without the content lock it would not wait, find the content unreferenced, and
            // release it while B's version refers to it).
            var storedByB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var deleteStarted = new TaskCompletionSource<Task<bool>>(TaskCreationOptions.RunContinuationsAsynchronously);
            var complete = Task.Run(() => _b.CompleteVersionAsync(Commit(next, v2!, "t-new"), async token =>
            {
                await Store();
                storedByB.SetResult();
                var deleting = await deleteStarted.Task;
                for (var waited = 0; waited < 500 && !deleting.IsCompleted && !await SomeoneWaitsOnAnAdvisoryLockAsync(); waited++) await Task.Delay(10, token);
            }));
            await storedByB.Task;
            var delete = Task.Run(() => _a.DeleteAsync(old, null, (released, _) =>
            {
                lock (gate)
                {
                    foreach (var hash in released.UnreferencedSha256) stored.Remove(hash);
                }

                return Task.CompletedTask;
            }));
            deleteStarted.SetResult(delete);
            Assert.True(await delete);
            Assert.True(await complete);

            var referenced = (await _a.FindModelAsync(next))!.Versions.Any(v => v.Files.Any(f => f.Sha256 == sha));
            Assert.True(referenced);
            Assert.Contains(sha, stored);
            Assert.Null(await _b.FindModelAsync(old));

            Task Store()
            {
                lock (gate)
                {
                    stored.Add(sha);
                }

                return Task.CompletedTask;
            }
        }

        static ModelVersionCommit Commit(string model, string version, string token) => new()
        {
            ModelId = model,
            Version = version,
            UploadToken = token,
            Files = [new ModelArtifactFile { Name = "model.onnx", Sha256 = sha, SizeBytes = 3 }],
            CompletedAt = DateTimeOffset.UtcNow,
        };
    }

    private async Task<bool> SomeoneWaitsOnAnAdvisoryLockAsync()
    {
        await using var command = _sources[0].CreateCommand("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)");
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task Initialize_SchemaOfANewerRelease_IsRefusedWithAClearMessage()
    {
        await using (var command = _sources[0].CreateCommand("UPDATE modelkit_schema SET version = 99"))
        {
            await command.ExecuteNonQueryAsync();
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new PostgresModelMetadataStore(_sources[1]).InitializeAsync());
        Assert.Contains("newer ModelKit (schema 99)", error.Message, StringComparison.Ordinal);
    }
}
