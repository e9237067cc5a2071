namespace ModelKit.Registry;

/// <summary>Filters and paging for <see cref="IModelRegistry.ListModelsAsync"/>.</summary>
public sealed record ModelQuery
{
    /// <summary>Only this framework.</summary>
    public string? Framework { get; init; }
    /// <summary>Only this task / model type.</summary>
    public string? Task { get; init; }
    /// <summary>Only models whose default version has this status.</summary>
    public ModelVersionStatus? Status { get; init; }
    /// <summary>Text searched in id, name, description and tags (case-insensitive).</summary>
    public string? Text { get; init; }
    /// <summary>Only favourites (true) or non-favourites (false).</summary>
    public bool? Favorite { get; init; }
    /// <summary>Items to skip. Default: 0.</summary>
    public int Offset { get; init; }
    /// <summary>Items to return, 1..1000. Default: 20.</summary>
    public int Limit { get; init; } = 20;
}
