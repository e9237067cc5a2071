namespace ModelKit.Registry;

/// <summary>The lifecycle of a model version's artifact.</summary>
public enum ModelVersionStatus
{
    /// <summary>The artifact is being received and checked.</summary>
    Uploading,
    /// <summary>The artifact is stored and was loaded successfully by its backend.</summary>
    Ready,
    /// <summary>The artifact could not be used.</summary>
    Failed,
}
