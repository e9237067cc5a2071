namespace ModelKit.Registry;

/// <summary>What kind of change <see cref="IModelRegistry.Changed"/> reports.</summary>
public enum ModelRegistryChangeKind
{
    /// <summary>A model was created (it has no ready version yet).</summary>
    ModelCreated,
    /// <summary>A model's metadata changed (name, task, tags, default version …).</summary>
    ModelUpdated,
    /// <summary>A model and all its versions were deleted.</summary>
    ModelDeleted,
    /// <summary>A version became ready (its artifacts are stored and were validated).</summary>
    VersionReady,
    /// <summary>A version was deleted.</summary>
    VersionDeleted,
    /// <summary>A version failed (its upload died or its artifacts were rejected).</summary>
    VersionFailed,
}
