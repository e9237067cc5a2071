namespace ModelKit.Registry;

/// <summary>Tells the registry whether a model version is in use (deployed); implemented by the deployment manager.</summary>
public interface IModelUsageGuard
{
    /// <summary>A short reason when the model (any version when <paramref name="version"/> is null) is in use, else null.</summary>
    string? GetUsage(string modelId, string? version);

    /// <summary>Called after the model (or one version) was deleted although in use (<c>force</c>): whatever served it should stop.</summary>
    void OnForcedDelete(string modelId, string? version)
    {
    }
}
