namespace ModelKit.Registry;

/// <summary>Counts over the whole registry (<see cref="ModelRegistryExtensions.GetStatisticsAsync"/>).</summary>
public sealed record ModelRegistryStatistics
{
    /// <summary>The key under which models without a task are counted.</summary>
    public const string NoTask = "unspecified";
    /// <summary>Registered models.</summary>
    public int Models { get; init; }
    /// <summary>Versions of all models.</summary>
    public int Versions { get; init; }
    /// <summary>Bytes of all versions' artifacts.</summary>
    public long TotalBytes { get; init; }
    /// <summary>Models marked favourite.</summary>
    public int Favorites { get; init; }
    /// <summary>Models by the status of their default version.</summary>
    public IReadOnlyDictionary<ModelVersionStatus, int> ByStatus { get; init; } = new Dictionary<ModelVersionStatus, int>();
    /// <summary>Models by framework, ordered by name.</summary>
    public IReadOnlyDictionary<string, int> ByFramework { get; init; } = new Dictionary<string, int>();
    /// <summary>Models by task (<see cref="NoTask"/> when they have none), ordered by name.</summary>
    public IReadOnlyDictionary<string, int> ByTask { get; init; } = new Dictionary<string, int>();
    /// <summary>The ids of the models of each task (<see cref="NoTask"/> when they have none), tasks and ids ordered by name: the supported tasks.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ModelsByTask { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
}
