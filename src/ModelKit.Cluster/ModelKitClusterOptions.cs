namespace ModelKit;

/// <summary>
/// A node's place in a ModelKit cluster (<c>AddModelKit(...).AddCluster(...)</c>): the membership database, the cluster's
/// id, this node's address and port for the other nodes, and how models are placed and requests forwarded.
/// </summary>
public sealed class ModelKitClusterOptions
{
    /// <summary>
    /// The PostgreSQL database (an Npgsql connection string) that holds the cluster's membership; every node of a cluster
    /// names the same one. It may be the registry's database. Required.
    /// </summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>The cluster's id: nodes with the same id (and database) form one cluster. Default <c>modelkit</c>.</summary>
    public string ClusterId { get; set; } = "modelkit";

    /// <summary>The address the other nodes reach this node at (an IP address). Default: the machine's first non-loopback address, as Orleans picks it.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>The TCP port for node-to-node traffic (Orleans' silo port). Default 11111; 0 takes one that is free when the node is configured.</summary>
    public int NodePort { get; set; } = 11111;

    /// <summary>Whether to listen for node-to-node traffic on every address rather than <see cref="AdvertisedAddress"/> only (containers, NAT). Default false.</summary>
    public bool ListenOnAnyAddress { get; set; }

    /// <summary>How many nodes hold each model that is not deployed (at most the number of active nodes). Default 1.</summary>
    public int HoldersPerModel { get; set; } = 1;

    /// <summary>
    /// The most nodes a busy model is placed on: while its holders' queues average
    /// <see cref="ScaleUpQueueLength"/> waiting requests or more, placement adds a holder (one per
    /// <see cref="ScaleInterval"/>), up to this many. Default 3; equal to <see cref="HoldersPerModel"/> turns scaling off.
    /// </summary>
    public int MaxHoldersPerModel { get; set; } = 3;

    /// <summary>Waiting requests per holder, on average, at which a model gets another holder. Default 8.</summary>
    public int ScaleUpQueueLength { get; set; } = 8;

    /// <summary>The least time between two scaling steps of one model. Default 5 s.</summary>
    public TimeSpan ScaleInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a model's holders' queues must stay empty before an added holder is released. Default 5 minutes.</summary>
    public TimeSpan ScaleDownAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long placement remembers a model that no node asked about (a deleted model, or one idle that long): after that
    /// its holders and scaling are forgotten, and when it is asked for again it is placed anew, first on a node that still
    /// has it loaded. Default 10 minutes; keep it above <see cref="ScaleDownAfter"/>.
    /// </summary>
    public TimeSpan PlacementForgetAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How many holders a forwarded request tries before it fails (each failure drops that holder and re-places the model). Default 3.</summary>
    public int ForwardAttempts { get; set; } = 3;

    /// <summary>How long a node keeps what placement answered for a model before it asks again. Default 1 s.</summary>
    public TimeSpan PlacementCacheInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a node waits for placement's answer before it serves the model itself. Default 5 s.</summary>
    public TimeSpan PlacementTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many nodes keep each uploaded file: the node it was uploaded through, and (in the background, once the
    /// version is ready) this many minus one other nodes, so that losing one node loses no version. Default 2; 1 keeps
    /// only the uploading node's copy (and the copies nodes fetch to serve). A shared data directory needs no copies.
    /// </summary>
    public int FileCopies { get; set; } = 2;

    /// <summary>
    /// How often a node tells the cluster about its deployments and learns everyone else's: how stale another node's
    /// deployment may look in the seed APIs, and how soon a request for its model is sent to it. Default 1 s.
    /// </summary>
    public TimeSpan DeploymentSyncInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a starting node waits for the membership database (trying every 2 s, and saying so in the log) before its
    /// start fails. Default 2 minutes.
    /// </summary>
    public TimeSpan DatabaseWaitTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How quickly a node that stops answering is declared dead by the others (Orleans' probe timeout; three missed
    /// probes, two votes). Default 5 s, so about 15 s from a crash to re-placement; lower it on a reliable network.
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
