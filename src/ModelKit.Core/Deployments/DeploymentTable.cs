using System.Collections.Concurrent;
using ModelKit.Caching;
using ModelKit.Registry;

namespace ModelKit.Deployments;

/// <summary>Every deployment by id, and the active one (not stopped or failed) per model; the registry's usage guard.</summary>
internal sealed class DeploymentTable : IModelUsageGuard
{
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, Deployment> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Deployment> _activeByModel = new(StringComparer.Ordinal);

    public Deployment Get(string id) => Find(id) ?? throw new DeploymentNotFoundException($"Deployment '{ClientText.Quote(id)}' does not exist.");

    public Deployment? Find(string id) => id is not null && _byId.TryGetValue(id, out var d) ? d : null;

    public Deployment? FindActive(string modelId) => _activeByModel.TryGetValue(modelId, out var d) ? d : null;

    public ICollection<Deployment> All() => _byId.Values;

    public void Add(Deployment d, long memoryLimit)
    {
        lock (_gate)
        {
            if (_byId.ContainsKey(d.Id)) throw new ModelKitConflictException($"A deployment named '{d.Id}' already exists.");
            CheckActivation(d, memoryLimit);
            _byId[d.Id] = d;
            _activeByModel[d.ModelId] = d;
        }
    }

    public void AddInactive(Deployment d)
    {
        lock (_gate)
        {
            if (!_byId.TryAdd(d.Id, d)) throw new ModelKitConflictException($"A deployment named '{d.Id}' already exists.");
        }
    }

    public void Activate(Deployment d, long memoryLimit)
    {
        lock (_gate)
        {
            CheckActivation(d, memoryLimit);
            _activeByModel[d.ModelId] = d;
        }
    }

    public void Deactivate(Deployment d)
    {
        lock (_gate)
        {
            _activeByModel.TryRemove(new KeyValuePair<string, Deployment>(d.ModelId, d));
        }
    }

    public void Remove(Deployment d)
    {
        lock (_gate)
        {
            _activeByModel.TryRemove(new KeyValuePair<string, Deployment>(d.ModelId, d));
            _byId.TryRemove(d.Id, out _);
        }
    }

    public void CheckMemory(Deployment d, long request, long memoryLimit)
    {
        lock (_gate)
        {
            var reserved = ReservedLocked(except: d);
            if (reserved + request > memoryLimit)
            {
                throw new InsufficientResourcesException(
                    $"A memory request of {FormatBytes(request)} does not fit: {FormatBytes(reserved)} of the {FormatBytes(memoryLimit)} model memory budget is reserved by other deployments.");
            }
        }
    }

    /// <summary>Raised when the registry deleted (forced) what an active deployment serves.</summary>
    public event Action<Deployment, string?>? ForcedDelete;

    public void OnForcedDelete(string modelId, string? version)
    {
        var d = FindActive(modelId);
        if (d is null) return;
        var (served, updating, _) = d.Describe();
        if (version is null || version == served || version == updating) ForcedDelete?.Invoke(d, version);
    }

    public string? GetUsage(string modelId, string? version)
    {
        var d = FindActive(modelId);
        if (d is null) return null;
        var (served, updating, state) = d.Describe();
        if (version is not null && version != served && version != updating) return null;
        return $"deployment '{d.Id}' ({DeploymentManager.Name(state)}) serves version {served}";
    }

    private void CheckActivation(Deployment d, long memoryLimit)
    {
        if (_activeByModel.TryGetValue(d.ModelId, out var other) && other != d)
        {
            throw new ModelKitConflictException($"Model '{d.ModelId}' is already deployed as '{other.Id}'; update, stop or delete that deployment first.");
        }

        if (d.MemoryRequest is { } request) CheckMemory(d, request, memoryLimit);
    }

    private long ReservedLocked(Deployment except)
    {
        long sum = 0;
        foreach (var other in _activeByModel.Values)
        {
            if (other != except && other.MemoryRequest is { } r) sum += r;
        }

        return sum;
    }

    private static string FormatBytes(long bytes) => ModelCache.FormatBytes(bytes);
}
