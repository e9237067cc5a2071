using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using ModelKit;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Diagnostics;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Serving;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The builder <c>AddModelKit</c> returns; features are extension methods on it.</summary>
public interface IModelKitBuilder
{
    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }
}
