using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using ModelKit;
using ModelKit.Registry;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of ModelKit's PostgreSQL stores on <c>AddModelKit()</c>'s builder.</summary>
public static class PostgreSqlModelKitBuilderExtensions
{
    /// <summary>
    /// Keeps the registry's metadata (models, versions, the records of their files) in PostgreSQL instead of the
    /// embedded SQLite file, so that every ModelKit node given the same database shares one registry. The schema is
    /// created or migrated when the registry is first used. The files themselves stay in the data directory
    /// (<see cref="ModelKitOptions.DataDirectory"/>); see docs/registry.md for what nodes must share today.
    /// </summary>
    /// <param name="builder"><c>AddModelKit()</c>'s builder.</param>
    /// <param name="connectionString">An Npgsql connection string, for example <c>Host=db;Database=modelkit;Username=modelkit;Password=…</c>.</param>
    public static IModelKitBuilder AddPostgreSqlRegistry(this IModelKitBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
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

        builder.Services.RemoveAll<IModelMetadataStore>();
        builder.Services.AddSingleton<IModelMetadataStore>(sp => new PostgresModelMetadataStore(
            new NpgsqlDataSourceBuilder(parsed.ConnectionString).Build(), sp.GetService<ILogger<PostgresModelMetadataStore>>(), ownsDataSource: true));
        return builder;
    }
}
