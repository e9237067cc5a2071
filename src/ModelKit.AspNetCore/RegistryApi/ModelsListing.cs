using ModelKit.Deployments;
using ModelKit.Registry;

namespace ModelKit.AspNetCore;

/// <summary>
/// The models resource's list as both seeds filter it: seed 002's <c>page</c>, <c>page_size</c>, <c>framework</c> and
/// registry states (<c>uploading</c>, <c>ready</c>, <c>failed</c>), seed 000's <c>limit</c>, <c>offset</c>,
/// <c>model_type</c> and deployment states (<c>pending</c>, <c>running</c>, <c>stopped</c>, <c>failed</c>), and
/// ModelKit's <c>q</c> and <c>favorite</c>. <c>failed</c> is in both vocabularies: it means the vocabulary of the shape
/// that answers.
/// </summary>
internal static class ModelsListing
{
    /// <summary>The most items one page holds.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>One page of models, each with its latest deployment, and the total that match.</summary>
    public static async Task<ModelsPage> QueryAsync(
        IModelRegistry registry, IDeploymentManager deployments, ModelsListQuery query, CancellationToken cancellationToken)
    {
        var (registryStatus, deploymentStatus) = ParseStatus(query.Status, query.Vocabulary);
        var filter = new ModelQuery { Framework = query.Framework, Task = query.ModelType, Status = registryStatus, Text = query.Text, Favorite = query.Favorite };
        if (deploymentStatus is null)
        {
            var page = await registry.ListModelsAsync(filter with { Offset = query.Offset, Limit = query.Limit }, cancellationToken);
            return new ModelsPage([.. page.Items.Select(m => new ListedModel(m, deployments.FindLatestByModel(m.Id)))], page.Total);
        }

        // The registry does not know deployments: walk its pages and keep the models whose latest deployment has the state.
        var matches = new List<ListedModel>();
        foreach (var model in await registry.ListAllModelsAsync(filter, cancellationToken))
        {
            var deployment = deployments.FindLatestByModel(model.Id);
            if (DeploymentStatusNames.Of(deployment?.State) == deploymentStatus) matches.Add(new ListedModel(model, deployment));
        }

        return new ModelsPage([.. matches.Skip(query.Offset).Take(query.Limit)], matches.Count);
    }

    private static (ModelVersionStatus? Registry, string? Deployment) ParseStatus(string? status, ModelsResourceShape vocabulary)
    {
        if (string.IsNullOrEmpty(status)) return (null, null);
        if (status.Equals("uploading", StringComparison.OrdinalIgnoreCase)) return (ModelVersionStatus.Uploading, null);
        if (status.Equals("ready", StringComparison.OrdinalIgnoreCase)) return (ModelVersionStatus.Ready, null);
        if (status.Equals(DeploymentStatusNames.Failed, StringComparison.OrdinalIgnoreCase))
        {
            return vocabulary == ModelsResourceShape.Registry ? (ModelVersionStatus.Failed, null) : (null, DeploymentStatusNames.Failed);
        }

        if (DeploymentStatusNames.IsName(status)) return (null, status.ToLowerInvariant());
        throw new InvalidInputException(
            $"'status' must be uploading, ready or failed (registry states) or pending, running, stopped or failed (deployment states); was '{DeploymentApiErrors.Bounded(status)}'.");
    }

    /// <summary>Paging from either seed's parameters: <c>offset</c>/<c>limit</c> win over <c>page</c>/<c>page_size</c>.</summary>
    public static (int Offset, int Limit) Paging(string? page, string? pageSize, string? limit, string? offset, int defaultSize)
    {
        var size = Parse.Int(limit, "limit") ?? Parse.Int(pageSize, "page_size") ?? defaultSize;
        if (size is < 1 or > MaxPageSize) throw new InvalidInputException($"'{(limit is null ? "page_size" : "limit")}' must be 1..{MaxPageSize} (was {size}).");
        var pageNumber = Parse.Int(page, "page") ?? 1;
        if (pageNumber < 1) throw new InvalidInputException($"'page' must be 1 or more (was {pageNumber}).");
        var skip = Parse.Int(offset, "offset") ?? (int)Math.Min(int.MaxValue, (pageNumber - 1L) * size);
        if (skip < 0) throw new InvalidInputException($"'offset' must be 0 or more (was {skip}).");
        return (skip, size);
    }
}

/// <summary>The filters of a models list.</summary>
internal sealed record ModelsListQuery
{
    public string? Framework { get; init; }
    public string? ModelType { get; init; }
    public string? Status { get; init; }
    public string? Text { get; init; }
    public bool? Favorite { get; init; }
    public int Offset { get; init; }
    public int Limit { get; init; } = 20;

    /// <summary>The shape that answers: decides what <c>status=failed</c> means.</summary>
    public ModelsResourceShape Vocabulary { get; init; }

    /// <summary>The query from either seed's query-string parameters (as the endpoint received them).</summary>
    public static ModelsListQuery From(
        string? page, string? pageSize, string? limit, string? offset, string? framework, string? modelType, string? status, string? q, string? favorite,
        int defaultSize, ModelsResourceShape vocabulary)
    {
        var (skip, size) = ModelsListing.Paging(page, pageSize, limit, offset, defaultSize);
        return new ModelsListQuery
        {
            Framework = framework,
            ModelType = modelType,
            Status = status,
            Text = q,
            Favorite = Parse.Bool(favorite, "favorite"),
            Offset = skip,
            Limit = size,
            Vocabulary = vocabulary,
        };
    }
}

/// <summary>A listed model with its latest deployment (null when it has none).</summary>
internal sealed record ListedModel(ModelInfo Model, DeploymentInfo? Deployment);

/// <summary>A page of listed models and how many match in all.</summary>
internal sealed record ModelsPage(IReadOnlyList<ListedModel> Items, int Total);
