using Microsoft.Extensions.DependencyInjection;
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

// AddModelKit() with the PostgreSQL registry: the host's registry is on the database, and nothing is written to registry.db.
public sealed class PostgresRegistryRegistrationTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task AddPostgreSqlRegistry_TwoHostsOnOneDatabase_ShareTheRegistry()
    {
        using var dir = new TempDirectory();
        var connectionString = (await server.CreateDatabaseAsync()).ConnectionString;
        ServiceProvider Host()
        {
            var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
            services.AddModelKit(o => o.DataDirectory = dir.Path).AddPostgreSqlRegistry(connectionString);
            services.AddSingleton<ModelKit.Backends.IInferenceBackend>(new FakeBackend());
            return services.BuildServiceProvider();
        }

        await using var first = Host();
        await using var second = Host();
        Assert.IsType<PostgresModelMetadataStore>(first.GetRequiredService<IModelMetadataStore>());
        await first.GetRequiredService<IModelRegistry>().RegisterAsync(
            new ModelDefinition { Id = "shared", Name = "Shared" }, new MemoryStream("model"u8.ToArray()), "model.onnx");

        var seen = await second.GetRequiredService<IModelRegistry>().GetModelAsync("shared");
        Assert.Equal("1", seen.DefaultVersion);
        Assert.False(File.Exists(Path.Combine(dir.Path, "registry.db")));
    }

    [Fact]
    public void AddPostgreSqlRegistry_InvalidConnectionString_SaysSo()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        var error = Assert.Throws<ArgumentException>(() => services.AddModelKit().AddPostgreSqlRegistry("Host=db;NoSuchKeyword=1"));
        Assert.StartsWith("The PostgreSQL connection string is not valid", error.Message, StringComparison.Ordinal);
    }
}
