namespace ModelKit.Registry;

/// <summary>What <see cref="IModelMetadataStore.UpdateModelAsync"/> did.</summary>
public enum ModelUpdateResult
{
    /// <summary>The update was applied.</summary>
    Updated,
    /// <summary>The model does not exist; nothing was applied.</summary>
    ModelNotFound,
    /// <summary>The new default version is missing or not ready; nothing was applied.</summary>
    DefaultVersionNotReady,
}
