namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The builder <c>AddModelKit</c> returns; features are extension methods on it.</summary>
public interface IModelKitBuilder
{
    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }
}
