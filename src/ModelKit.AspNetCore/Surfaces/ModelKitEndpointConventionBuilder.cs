using Microsoft.AspNetCore.Builder;

namespace ModelKit.AspNetCore;

/// <summary>The surfaces <c>MapModelKit()</c> mapped, as one builder: a convention added here applies to each.</summary>
internal sealed class ModelKitEndpointConventionBuilder(IReadOnlyList<IEndpointConventionBuilder> surfaces) : IEndpointConventionBuilder
{
    public void Add(Action<EndpointBuilder> convention)
    {
        foreach (var surface in surfaces) surface.Add(convention);
    }

    public void Finally(Action<EndpointBuilder> finallyConvention)
    {
        foreach (var surface in surfaces) surface.Finally(finallyConvention);
    }
}
