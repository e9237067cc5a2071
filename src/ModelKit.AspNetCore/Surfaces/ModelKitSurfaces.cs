using Microsoft.AspNetCore.Http;

namespace ModelKit.AspNetCore;

/// <summary>
/// The path prefixes ModelKit's surfaces are mapped at, each with its error shape, so that answers the framework gives
/// before any ModelKit endpoint runs (no such path, wrong method or media type, a query value that does not bind) come
/// in the surface's own shape too. Filled by each surface's <c>Map…()</c>; the longest matching prefix wins.
/// </summary>
internal sealed class ModelKitSurfaces
{
    private readonly Lock _gate = new();
    private (string Prefix, SurfaceErrorWriter Shape)[] _surfaces = [];

    public void Register(string prefix, SurfaceErrorWriter shape)
    {
        var normalized = "/" + prefix.Trim('/');
        lock (_gate)
        {
            _surfaces = [.. _surfaces.Where(s => s.Prefix != normalized), (normalized, shape)];
            Array.Sort(_surfaces, static (a, b) => b.Prefix.Length.CompareTo(a.Prefix.Length)); // longest prefix first
        }
    }

    /// <summary>The error shape of the surface whose prefix <paramref name="path"/> is under, or null.</summary>
    public SurfaceErrorWriter? Find(PathString path)
    {
        foreach (var (prefix, shape) in Volatile.Read(ref _surfaces))
        {
            if (prefix == "/" || path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase)) return shape;
        }

        return null;
    }
}
