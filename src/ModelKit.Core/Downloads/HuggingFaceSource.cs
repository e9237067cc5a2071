namespace ModelKit.Downloads;

/// <summary>
/// The <c>huggingface</c> source: a repository of a Hugging Face-compatible hub at a revision (pinned to its commit when
/// planned), its files chosen by <see cref="FileSelection"/>, each checked against the hub's sha256 (LFS files) or git
/// blob sha1 (the others).
/// </summary>
internal sealed class HuggingFaceSource(IModelHub hub) : IModelSource
{
    public const string SourceName = "huggingface";

    public string Name => SourceName;

    public async Task<ModelSourcePlan> PlanAsync(DownloadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        HuggingFaceHub.CheckRepoId(request.ModelId);
        var revision = request.Revision ?? "main";
        HuggingFaceHub.CheckRevision(revision);
        var model = await hub.GetModelAsync(request.ModelId, revision, cancellationToken).ConfigureAwait(false);
        var (names, primary) = FileSelection.Select(model.Files.Select(f => f.Path).ToList(), request.AllowPatterns, request.IgnorePatterns);
        var byPath = model.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        return new ModelSourcePlan
        {
            Location = model.Id,
            // The commit, so that a task resumed tomorrow fetches the same files even if the branch moved.
            Revision = model.Sha is { Length: 40 } sha ? sha : revision,
            Files = names.Select(n => byPath[n]).Select(f => new ModelSourceFile(f.Path, f.Path, f.Size, f.Sha256, f.Sha256 is null ? f.BlobId : null)).ToList(),
            PrimaryFile = primary,
            Task = model.PipelineTag,
            Tags = model.Tags,
        };
    }

    public Task<ModelSourceContent> OpenAsync(ModelSourcePlan plan, ModelSourceFile file, long offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(file);
        return hub.OpenFileAsync(plan.Location, plan.Revision, file.Location, offset, cancellationToken);
    }
}
