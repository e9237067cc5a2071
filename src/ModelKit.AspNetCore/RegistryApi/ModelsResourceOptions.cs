namespace ModelKit.AspNetCore;

/// <summary>
/// How seeds 000 (deployment API) and 002 (registry API) share <c>/api/v1/models</c> when both are mapped at one prefix
/// (as <c>MapModelKit()</c> maps them): <c>services.Configure&lt;ModelsResourceOptions&gt;(o =&gt; o.Shape = ModelsResourceShape.Deployment)</c>.
/// Read when the endpoints are mapped.
/// </summary>
public sealed class ModelsResourceOptions
{
    /// <summary>
    /// The seed whose shapes list, get and delete answer in. Default: <see cref="ModelsResourceShape.Registry"/>.
    /// Each seed mapped alone (<c>MapDeploymentApi()</c>, <c>MapRegistryApi()</c>) answers them in its own shapes.
    /// </summary>
    public ModelsResourceShape Shape { get; set; } = ModelsResourceShape.Registry;
}
