using Microsoft.Extensions.Options;
using ModelKit.Registry;

namespace ModelKit.Tests.Registry;

// What the registry's tests share: a data directory, a backend, and the metadata store under test. That is the
// embedded SQLite store unless a subclass gives another one: each Postgres* subclass runs the same tests on PostgreSQL.
public abstract class RegistryTestBase : IAsyncLifetime
{
    private IModelMetadataStore? _store;

    protected TempDirectory Dir { get; } = new();

    protected FakeBackend Backend { get; } = new();

    // Null: the embedded store in the data directory, opened afresh by each registry as another process would.
    protected virtual Task<IModelMetadataStore?> CreateStoreAsync() => Task.FromResult<IModelMetadataStore?>(null);

    public virtual async Task InitializeAsync() => _store = await CreateStoreAsync();

    public virtual async Task DisposeAsync()
    {
        if (_store is IAsyncDisposable disposable) await disposable.DisposeAsync();
        Dir.Dispose();
    }

    // A registry over the data directory and the store under test: each call is a new instance, as a process starting.
    protected ModelRegistry OpenRegistry(IEnumerable<IModelUsageGuard>? guards = null, long? maxArtifactBytes = null)
    {
        var options = new ModelKitOptions { DataDirectory = Dir.Path };
        if (maxArtifactBytes is { } max) options.MaxArtifactBytes = max;
        return _store is null
            ? new(Options.Create(options), [Backend], guards)
            : new(_store, Options.Create(options), [Backend], guards);
    }

    // The store under test itself, ready, for the tests of its contract.
    protected async Task<IModelMetadataStore> OpenStoreAsync()
    {
        var store = _store ?? new SqliteModelMetadataStore(Dir.Combine("registry.db"));
        await store.InitializeAsync();
        return store;
    }
}
