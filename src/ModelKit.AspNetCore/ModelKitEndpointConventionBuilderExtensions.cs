using ModelKit.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>ModelKit's API keys on a host app's own endpoints.</summary>
public static class ModelKitEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Protects a host app's own endpoint (metrics, a custom route) with ModelKit's API keys: callers need a key with
    /// <paramref name="scope"/> (<see cref="ModelKitScopes"/>), or the manage scope.
    /// </summary>
    public static TBuilder RequireModelKitScope<TBuilder>(this TBuilder builder, string scope)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (scope is not (ModelKitScopes.Read or ModelKitScopes.Infer or ModelKitScopes.Manage))
        {
            throw new ArgumentOutOfRangeException(nameof(scope), scope, "Use ModelKitScopes.Read, Infer or Manage.");
        }

        return builder.RequireAuthorization(ModelKitScopes.Policy(scope));
    }
}
