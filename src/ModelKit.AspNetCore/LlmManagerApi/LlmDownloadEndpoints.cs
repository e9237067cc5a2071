using Microsoft.AspNetCore.Http;
using ModelKit.Downloads;

namespace ModelKit.AspNetCore;

/// <summary>Seed 004's downloads over <see cref="IDownloadManager"/> (progress pushed by <see cref="DownloadProgressSocket"/>).</summary>
internal static class LlmDownloadEndpoints
{
    public static async Task<IResult> StartAsync(HttpContext context, IDownloadManager downloads, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<LlmDownloadBody>(context.Request, cancellationToken);
        if (string.IsNullOrWhiteSpace(body.ModelId)) throw new InvalidInputException("'model_id' is required: the hub repository ('org/name') or, for 'url' and 'file', the id to register the model under.");
        if (string.IsNullOrWhiteSpace(body.Source)) throw new InvalidSourceException("'source' is required: 'huggingface', 'url' or 'file'.");
        Uri? url = null;
        if (body.Url is not null && !Uri.TryCreate(body.Url, UriKind.Absolute, out url))
        {
            throw new InvalidInputException($"'url' '{ClientText.Quote(body.Url, 64)}' is not an absolute address.");
        }

        var task = await downloads.StartAsync(new DownloadRequest
        {
            Source = body.Source,
            ModelId = body.ModelId,
            Revision = body.Revision,
            Url = url,
            Path = body.Path,
            PathInArchive = body.PathInArchive,
            AllowPatterns = body.AllowPatterns ?? [],
            IgnorePatterns = body.IgnorePatterns ?? [],
            RegisterAs = body.RegisterAs,
            Version = body.Version,
            Task = body.ModelType,
        }, cancellationToken);
        return LlmManager.Ok(new LlmDownloadStarted(LlmDownloadTask.Of(task), "Download task created"), "Download task created");
    }

    public static async Task<IResult> GetAsync(string task_id, IDownloadManager downloads, CancellationToken cancellationToken) =>
        LlmManager.Ok(LlmDownloadTask.Of(await downloads.GetAsync(task_id, cancellationToken)));

    public static async Task<IResult> PauseAsync(string task_id, IDownloadManager downloads, CancellationToken cancellationToken) =>
        LlmManager.Ok(LlmDownloadTask.Of(await downloads.PauseAsync(task_id, cancellationToken)), "Download paused");

    public static async Task<IResult> ResumeAsync(string task_id, IDownloadManager downloads, CancellationToken cancellationToken) =>
        LlmManager.Ok(LlmDownloadTask.Of(await downloads.ResumeAsync(task_id, cancellationToken)), "Download resumed");

    public static async Task<IResult> CancelAsync(string task_id, IDownloadManager downloads, CancellationToken cancellationToken) =>
        LlmManager.Ok(LlmDownloadTask.Of(await downloads.CancelAsync(task_id, cancellationToken)), "Download cancelled");

    public static async Task<IResult> DeleteAsync(string task_id, IDownloadManager downloads, CancellationToken cancellationToken)
    {
        await downloads.DeleteAsync(task_id, cancellationToken);
        return LlmManager.Ok(new LlmDownloadDeleted(task_id, true), "Download task deleted");
    }

    public static async Task<IResult> ListAsync(IDownloadManager downloads, string? status, string? page, string? page_size, CancellationToken cancellationToken)
    {
        var (number, size, skip) = LlmManager.Paging(page, page_size);
        var result = await downloads.ListAsync(new DownloadQuery
        {
            Statuses = status is null ? [] : LlmDownloadTask.StatesNamed(status),
            Offset = skip,
            Limit = size,
        }, cancellationToken);
        var pages = (result.Total + size - 1) / size;
        return LlmManager.Ok(new LlmDownloadList([.. result.Items.Select(LlmDownloadTask.Of)], new LlmPagination(number, size, result.Total, pages, number < pages, number > 1)));
    }

    public static IResult Queue(IDownloadManager downloads)
    {
        var queue = downloads.GetQueue();
        return LlmManager.Ok(new LlmDownloadQueue(
            queue.MaxConcurrentDownloads, queue.Active.Count, queue.Pending.Count, queue.Paused,
            LlmDownloadTask.Size((long)queue.BytesPerSecond) + "/s", Math.Round(queue.BytesPerSecond, 1),
            [.. queue.Active.Select(LlmDownloadTask.Of)], [.. queue.Pending.Select(LlmDownloadTask.Of)]));
    }

    public static IResult Ticket(HttpContext context, ModelKitWebSocketTickets tickets)
    {
        var (ticket, expires) = tickets.Issue(context.User);
        return LlmManager.Ok(new LlmSocketTicket(ticket, expires, (int)ModelKitWebSocketTickets.Lifetime.TotalSeconds), "Ticket issued");
    }
}
