using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace ModelKit.Downloads;

/// <summary>
/// The watchers of download events. Each has an unbounded queue of state changes (rare; never dropped) and, per task, the
/// latest progress only (a slow reader gets the newest numbers, not a backlog).
/// </summary>
internal sealed class DownloadWatchers
{
    private readonly ConcurrentDictionary<Watcher, byte> _watchers = new();

    public void Publish(DownloadEvent e)
    {
        foreach (var watcher in _watchers.Keys) watcher.Offer(e);
    }

    public async IAsyncEnumerable<DownloadEvent> WatchAsync(
        string? taskId, Func<IReadOnlyList<DownloadTaskInfo>> snapshot, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var watcher = new Watcher(taskId);
        _watchers.TryAdd(watcher, 0);
        try
        {
            // Registered before the snapshot is taken, so nothing between the two is missed.
            var initial = snapshot();
            if (taskId is not null && initial.Count == 0) yield break; // deleted before watching began
            foreach (var task in initial)
            {
                yield return new DownloadEvent(DownloadEventKind.Snapshot, task);
                if (taskId is not null && IsFinal(task)) yield break;
            }

            while (await watcher.Signal.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                watcher.Signal.Reader.TryRead(out _);
                while (watcher.Next() is { } e)
                {
                    yield return e;
                    if (taskId is not null && (e.Kind == DownloadEventKind.Deleted || (e.Kind == DownloadEventKind.Changed && IsFinal(e.Task)))) yield break;
                }
            }
        }
        finally
        {
            _watchers.TryRemove(watcher, out _);
        }
    }

    private static bool IsFinal(DownloadTaskInfo task) => task.Status is DownloadStatus.Completed or DownloadStatus.Failed or DownloadStatus.Cancelled;

    private sealed class Watcher(string? taskId)
    {
        private readonly ConcurrentQueue<DownloadEvent> _changes = new();
        private readonly ConcurrentDictionary<string, DownloadEvent> _progress = new(StringComparer.Ordinal);

        public Channel<bool> Signal { get; } = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

        public void Offer(DownloadEvent e)
        {
            if (taskId is not null && e.Task.Id != taskId) return;
            if (e.Kind == DownloadEventKind.Progress)
            {
                _progress[e.Task.Id] = e;
            }
            else
            {
                // A change supersedes progress taken before it.
                _progress.TryRemove(e.Task.Id, out _);
                _changes.Enqueue(e);
            }

            Signal.Writer.TryWrite(true);
        }

        public DownloadEvent? Next()
        {
            if (_changes.TryDequeue(out var change)) return change;
            foreach (var key in _progress.Keys)
            {
                if (_progress.TryRemove(key, out var progress)) return progress;
            }

            return null;
        }
    }
}
