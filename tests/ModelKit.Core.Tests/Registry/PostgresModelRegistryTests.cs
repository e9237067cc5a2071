using Microsoft.Extensions.DependencyInjection;
using ModelKit.Registry;
using Npgsql;

namespace ModelKit.Tests.Registry;

// The registry's tests on the PostgreSQL store, each in a database of its own on a throwaway server.
public sealed class PostgresModelRegistryTests(PostgresServer server) : ModelRegistryTests, IClassFixture<PostgresServer>
{
    protected override async Task<IModelMetadataStore?> CreateStoreAsync() => await server.CreateStoreAsync();
}

// Upload recovery at start, with the uploads' rows on PostgreSQL (the lock files stay in the shared data directory).
public sealed class PostgresUploadRecoveryTests(PostgresServer server) : UploadRecoveryTests, IClassFixture<PostgresServer>
{
    protected override async Task<IModelMetadataStore?> CreateStoreAsync() => await server.CreateStoreAsync();
}

// The ingest pipeline's commits and failures, with the versions' rows on PostgreSQL.
public sealed class PostgresArtifactIngestPipelineTests(PostgresServer server) : ArtifactIngestPipelineTests, IClassFixture<PostgresServer>
{
    protected override async Task<IModelMetadataStore?> CreateStoreAsync() => await server.CreateStoreAsync();
}

// The store's own contract on PostgreSQL.
public sealed class PostgresModelMetadataStoreContractTests(PostgresServer server) : ModelMetadataStoreContractTests, IClassFixture<PostgresServer>
{
    protected override async Task<IModelMetadataStore?> CreateStoreAsync() => await server.CreateStoreAsync();
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
