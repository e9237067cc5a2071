using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using ModelKit.Registry;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of ModelKit's PostgreSQL stores.</summary>
public static class ModelKitPostgreSqlServiceCollectionExtensions
{
    /// <summary>
    /// Keeps the registry's metadata (models, versions, their files' records) in PostgreSQL instead of the embedded
    /// SQLite file, so that every ModelKit node given the same database shares one registry. The schema is created or
    /// migrated when the registry is first used. Call before or after <c>AddModelKit()</c>. The artifacts themselves stay
    /// in each node's data directory.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="connectionString">An Npgsql connection string, for example <c>Host=db;Database=modelkit;Username=modelkit;Password=…</c>.</param>
    public static IServiceCollection AddModelKitPostgreSqlRegistry(this IServiceCollection services, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlConnectionStringBuilder parsed;
        try
        {
            parsed = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"The PostgreSQL connection string is not valid: {ex.Message}", nameof(connectionString), ex);
        }

        services.RemoveAll<IModelMetadataStore>();
        services.AddSingleton<IModelMetadataStore>(sp => new PostgresModelMetadataStore(
            new NpgsqlDataSourceBuilder(parsed.ConnectionString).Build(), sp.GetService<ILogger<PostgresModelMetadataStore>>(), ownsDataSource: true));
        return services;
    }
}
