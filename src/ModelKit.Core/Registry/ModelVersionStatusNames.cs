namespace ModelKit.Registry;

/// <summary>The one place that names <see cref="ModelVersionStatus"/> values, in messages and in the metadata store.</summary>
internal static class ModelVersionStatusNames
{
    public const string Uploading = "uploading";
    public const string Ready = "ready";
    public const string Failed = "failed";

    public static string Name(ModelVersionStatus status) => status switch
    {
        ModelVersionStatus.Uploading => Uploading,
        ModelVersionStatus.Ready => Ready,
        _ => Failed,
    };

    public static ModelVersionStatus Parse(string name) => name switch
    {
        Uploading => ModelVersionStatus.Uploading,
        Ready => ModelVersionStatus.Ready,
        _ => ModelVersionStatus.Failed,
    };
}
