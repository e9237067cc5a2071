namespace ModelKit.Backends;

internal static class InferenceBackends
{
    /// <summary>The backend serving <paramref name="framework"/> (case-insensitive), or null.</summary>
    public static IInferenceBackend? Find(IReadOnlyList<IInferenceBackend> backends, string framework)
    {
        foreach (var backend in backends)
        {
            if (string.Equals(backend.Framework, framework, StringComparison.OrdinalIgnoreCase)) return backend;
        }

        return null;
    }
}
