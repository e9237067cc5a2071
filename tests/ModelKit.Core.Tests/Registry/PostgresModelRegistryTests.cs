using ModelKit.Registry;
using Npgsql;

namespace ModelKit.Tests.Registry;

// The registry's tests on the PostgreSQL store, each in a database of its own on a throwaway server.
public sealed class PostgresModelRegistryTests(PostgresServer server) : ModelRegistryTests, IClassFixture<PostgresServer>
{
    private NpgsqlDataSource? _dataSource;

    protected override async Task<IModelMetadataStore?> CreateStoreAsync()
    {
        _dataSource = await server.CreateDatabaseAsync();
        return new PostgresModelMetadataStore(_dataSource);
    }

    public override async Task DisposeAsync()
    {
        if (_dataSource is not null) await _dataSource.DisposeAsync();
        await base.DisposeAsync();
    }
}
