using ModelKit.Deployments;
using ModelKit.Registry;
using ModelKit.Text;

namespace ModelKit.AspNetCore;

/// <summary>
/// Seed 001's rules that its REST handlers and its gRPC <c>model.ModelService</c> (ModelKit.Grpc) share, so that both
/// answer alike: which models are listed, which deployment an unload ends, and the notes on deployment settings
/// ModelKit does not apply.
/// </summary>
internal static class GatewayRules
{
    /// <summary>The registry's models, less those a remote model of the same id hides, and the remote models.</summary>
    public static async Task<(List<ModelInfo> Local, IReadOnlyList<RemoteModelInfo> Remote)> ListAsync(
        IModelRegistry registry, IRemoteModelCatalog? remote, CancellationToken cancellationToken)
    {
        var local = new List<ModelInfo>();
        foreach (var model in await registry.ListAllModelsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (remote?.Find(model.Id) is null) local.Add(model);
        }

        return (local, remote?.Models ?? []);
    }

    /// <summary>
    /// Ends the model's latest deployment and returns it: DEPLOYMENT_NOT_FOUND when it has none, MODEL_NOT_FOUND when
    /// the model is unknown.
    /// </summary>
    public static async Task<DeploymentInfo> UnloadAsync(IModelRegistry registry, IDeploymentManager deployments, string modelId, CancellationToken cancellationToken)
    {
        var info = deployments.FindLatestByModel(modelId);
        if (info is null)
        {
            _ = await registry.GetModelAsync(modelId, cancellationToken).ConfigureAwait(false); // MODEL_NOT_FOUND for an unknown model
            throw new DeploymentNotFoundException($"Model '{ClientText.Quote(modelId)}' is not deployed; there is nothing to unload.");
        }

        await deployments.DeleteAsync(info.DeploymentId, cancellationToken).ConfigureAwait(false);
        return info;
    }

    /// <summary>
    /// Where to download <paramref name="modelId"/> from before deploying it: its entry of the download catalogue
    /// (ModelKit:Downloads:Catalogue) when the registry lacks it; null when the registry has it or the catalogue does not.
    /// </summary>
    public static async Task<Downloads.DownloadRequest?> CatalogueSourceAsync(
        IModelRegistry registry, Downloads.DownloadOptions downloads, string modelId, CancellationToken cancellationToken) =>
        downloads.Catalogue.TryGetValue(modelId, out var entry) && await registry.FindModelAsync(modelId, cancellationToken) is null ? entry.ToRequest(modelId) : null;

    /// <summary>
    /// The notes a deploy answers with for the settings it accepts but does not apply, so that the seed's example
    /// request deploys as written: <paramref name="quantization"/>, target nodes, the LLM engine settings.
    /// </summary>
    public static List<string> DeployNotes(string? quantization, bool targetNodes, bool engineSettings)
    {
        var notes = new List<string>();
        if (quantization is not null)
        {
            notes.Add($"quantization '{ClientText.Quote(quantization, 32)}' is not applied: ModelKit serves the model's weights as registered (quantize the ONNX file before registering it).");
        }

        if (targetNodes)
        {
            notes.Add($"target_nodes is not applied: ModelKit serves models in-process, on this node ('{Environment.MachineName}').");
        }

        if (engineSettings)
        {
            notes.Add("use_flash_attention, use_kv_cache, tensor_parallel_size and cpu_offload are not applied: they are settings of LLM engines, and ONNX Runtime runs the model as exported.");
        }

        return notes;
    }
}
