using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ModelKit;
using ModelKit.Cluster;
using ModelKit.Deployments;
using ModelKit.Serving;
using Npgsql;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.Runtime;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of ModelKit's cluster (several nodes as one service, on Orleans) on <c>AddModelKit()</c>'s builder.</summary>
public static class ClusterModelKitBuilderExtensions
{
    /// <summary>
    /// Makes this node one of a cluster of ModelKit nodes: membership in PostgreSQL (<see cref="ModelKitClusterOptions.ConnectionString"/>,
    /// through Orleans' ADO.NET clustering on tables ModelKit creates), each model that is not deployed placed on
    /// <see cref="ModelKitClusterOptions.HoldersPerModel"/> nodes chosen by free cache memory and queue length, and a
    /// request for it arriving at any node served there or forwarded over the cluster to a holder. Give every node the
    /// same registry (<c>AddPostgreSqlRegistry</c>) and, until nodes fetch artifacts from each other, the same data
    /// directory. Without this call a node is on its own, and needs no Orleans configuration.
    /// </summary>
    public static IModelKitBuilder AddCluster(this IModelKitBuilder builder, Action<ModelKitClusterOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new ModelKitClusterOptions();
        configure(options);
        Validate(options);
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));
        builder.Services.TryAddSingleton<ClusterDatabase>();
        builder.Services.TryAddSingleton(sp => new ClusterMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ClusterSchemaStartup>();
        // Deployments: saved in the cluster's database, seen and managed from every node, each run on one node.
        builder.Services.TryAddSingleton<ClusterDeploymentStore>();
        builder.Services.TryAddSingleton<IDeploymentStore>(sp => sp.GetRequiredService<ClusterDeploymentStore>());
        builder.Services.TryAddSingleton<RemoteDeployments>();
        builder.Services.AddSingleton<ModelKit.Registry.IModelUsageGuard>(sp => sp.GetRequiredService<RemoteDeployments>());
        builder.Services.TryAddSingleton(sp => new ClusterDeploymentManager(
            sp.GetRequiredService<DeploymentManager>(),
            sp.GetRequiredService<RemoteDeployments>(),
            sp.GetRequiredService<ClusterDeploymentStore>(),
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<ILocalSiloDetails>(),
            sp.GetRequiredService<ModelRouter>(),
            sp.GetRequiredService<IOptions<ModelKitClusterOptions>>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<ClusterDeploymentManager>>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<IDeploymentManager>(sp => sp.GetRequiredService<ClusterDeploymentManager>()));
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ClusterDeploymentManager>());
        builder.Services.TryAddSingleton(sp => new ClusterModelRouter(
            sp.GetRequiredService<ModelRouter>(),
            sp.GetRequiredService<DeploymentTable>(),
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<ILocalSiloDetails>(),
            sp.GetRequiredService<IOptions<ModelKitClusterOptions>>(),
            sp.GetRequiredService<ClusterMetrics>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<ClusterModelRouter>>(),
            sp.GetRequiredService<RemoteDeployments>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<IModelRouter>(sp => sp.GetRequiredService<ClusterModelRouter>()));
        builder.Services.AddSingleton<ModelKit.Registry.IArtifactPeerSource, ClusterArtifactSource>();
        builder.Services.TryAddSingleton<ClusterFileCopies>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ClusterFileCopies>());
        var nodePort = options.NodePort == 0 ? FreePort() : options.NodePort;
        builder.Services.AddOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = "modelkit";
            });
            silo.Configure<EndpointOptions>(o =>
            {
                if (options.AdvertisedAddress is { } address) o.AdvertisedIPAddress = IPAddress.Parse(address);
                o.SiloPort = nodePort;
                o.GatewayPort = 0; // no Orleans clients: requests come in through the nodes' own HTTP and gRPC
                if (options.ListenOnAnyAddress) o.SiloListeningEndpoint = new IPEndPoint(IPAddress.Any, nodePort);
            });
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = options.ProbeTimeout;
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(Math.Max(2, options.ProbeTimeout.TotalSeconds));
                o.TableRefreshTimeout = TimeSpan.FromSeconds(Math.Max(1, options.ProbeTimeout.TotalSeconds / 2));
            });
            // A forwarded request waits as long as the holder's own timeout lets it run; a dead holder's calls fail when
            // membership declares it dead, not on this timeout.
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(10));
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = options.ConnectionString;
            });
            silo.AddPlacementDirector<NodePlacementStrategy, NodePlacementDirector>();
            // Deployments travel between nodes as JSON (their settings, stages and queue figures), not by generated code.
            silo.Services.AddSerializer(serializer => serializer.AddJsonSerializer(isSupported: static type =>
                type == typeof(DeploymentInfo) || type == typeof(DeploymentSpec) || type == typeof(DeploymentUpdate) || type == typeof(DeploymentLogEntry)));
        });
        return builder;
    }

    /// <summary>As <see cref="AddCluster(IModelKitBuilder, Action{ModelKitClusterOptions})"/>, with the options bound from <paramref name="configuration"/> (the host's <c>ModelKit:Cluster</c> section).</summary>
    public static IModelKitBuilder AddCluster(this IModelKitBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.AddCluster(o => configuration.Bind(o));
    }

    // A port free now (Orleans needs a number, not 0); another process may take it before the silo listens, and the start then fails.
    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Any, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Validate(ModelKitClusterOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString)) errors.Add("'ConnectionString' (the membership database, PostgreSQL) is required.");
        else
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                errors.Add($"'ConnectionString' is not a valid PostgreSQL connection string: {ex.Message}");
            }
        }

        if (string.IsNullOrWhiteSpace(options.ClusterId) || options.ClusterId.Length > 150) errors.Add("'ClusterId' is required (at most 150 characters).");
        if (options.AdvertisedAddress is { } address && !IPAddress.TryParse(address, out _)) errors.Add($"'AdvertisedAddress' must be an IP address (was '{address}').");
        if (options.NodePort is < 0 or > 65535) errors.Add($"'NodePort' must be 0-65535 (was {options.NodePort}).");
        if (options.HoldersPerModel < 1) errors.Add($"'HoldersPerModel' must be at least 1 (was {options.HoldersPerModel}).");
        if (options.MaxHoldersPerModel < options.HoldersPerModel) errors.Add($"'MaxHoldersPerModel' must be at least 'HoldersPerModel' ({options.HoldersPerModel}) (was {options.MaxHoldersPerModel}).");
        if (options.ScaleUpQueueLength < 1) errors.Add($"'ScaleUpQueueLength' must be at least 1 (was {options.ScaleUpQueueLength}).");
        if (options.ScaleInterval < TimeSpan.Zero || options.ScaleDownAfter < TimeSpan.Zero) errors.Add("'ScaleInterval' and 'ScaleDownAfter' must not be negative.");
        if (options.ForwardAttempts < 1) errors.Add($"'ForwardAttempts' must be at least 1 (was {options.ForwardAttempts}).");
        if (options.PlacementCacheInterval < TimeSpan.Zero) errors.Add("'PlacementCacheInterval' must not be negative.");
        if (options.PlacementTimeout <= TimeSpan.Zero) errors.Add("'PlacementTimeout' must be positive.");
        if (options.ProbeTimeout <= TimeSpan.Zero) errors.Add("'ProbeTimeout' must be positive.");
        if (options.DeploymentSyncInterval <= TimeSpan.Zero) errors.Add("'DeploymentSyncInterval' must be positive.");
        if (options.FileCopies < 1) errors.Add($"'FileCopies' must be at least 1 (was {options.FileCopies}).");
        if (errors.Count > 0) throw new OptionsValidationException("ModelKit:Cluster", typeof(ModelKitClusterOptions), errors);
    }
}
