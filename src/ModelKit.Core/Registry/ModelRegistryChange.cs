namespace ModelKit.Registry;

/// <summary>One change of the registry, raised after it was committed.</summary>
/// <param name="Kind">What changed.</param>
/// <param name="ModelId">The model.</param>
/// <param name="Version">The version, for the version kinds; null for the model kinds.</param>
public sealed record ModelRegistryChange(ModelRegistryChangeKind Kind, string ModelId, string? Version = null);
