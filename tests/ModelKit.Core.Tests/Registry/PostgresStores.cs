using ModelKit.Registry;

namespace ModelKit.Tests.Registry;

internal static class PostgresStores
{
    /// <summary>A metadata store on a new empty database of <paramref name="server"/>; disposing the store disposes its data source.</summary>
    public static async Task<IModelMetadataStore> CreateStoreAsync(this PostgresServer server) =>
        new PostgresModelMetadataStore(await server.CreateDatabaseAsync(), ownsDataSource: true);
}
