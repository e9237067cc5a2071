using System.Security.Cryptography;
using System.Text;
using ModelKit.Registry;

namespace ModelKit.Downloads;

internal sealed partial class DownloadManager
{
    private const int BufferSize = 1 << 16;

    /// <summary>Starts queued tasks while slots are free.</summary>
    private void Pump()
    {
        lock (_gate)
        {
            while (!_disposed && _active < _options.MaxConcurrentDownloads && _queue.First is { } first)
            {
                _queue.RemoveFirst();
                var entry = first.Value;
                if (entry.Terminating != StopReason.None || entry.Deleted) continue;
                _active++;
                entry.Stop = StopReason.None;
                var run = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                entry.Run = run;
                entry.Record = entry.Record with { StartedAt = entry.Record.StartedAt ?? _time.GetUtcNow() };
                SetStatus(entry, DownloadStatus.Downloading);
                entry.Speed.Reset(_time.GetTimestamp(), entry.Bytes.Sum());
                entry.Running = Task.Run(() => RunAsync(entry, run));
            }
        }
    }

    private async Task RunAsync(Entry entry, CancellationTokenSource run)
    {
        var id = entry.Record.Id;
        var cancellationToken = run.Token;
        try
        {
            await SaveAsync(entry).ConfigureAwait(false);
            var plan = entry.Record.Plan;
            for (var i = 0; i < plan.Files.Count; i++) await TransferAsync(entry, i, cancellationToken).ConfigureAwait(false);
            lock (_gate) SetStatus(entry, DownloadStatus.Registering);
            await SaveAsync(entry).ConfigureAwait(false);
            var version = await RegisterAsync(entry, cancellationToken).ConfigureAwait(false);

            // The stored record says completed first (a crash after it leaves staging files that the next start removes, not
            // a task that downloads everything again); then the files go; then waiters and watchers hear of it, and never
            // find the files.
            lock (_gate) entry.Record = entry.Record with { RegisteredVersion = version, Status = DownloadStatus.Completed, FinishedAt = _time.GetUtcNow() };
            await SaveAsync(entry).ConfigureAwait(false);
            DeleteFiles(id);
            lock (_gate) Finish(entry, DownloadStatus.Completed, null);

            Log.DownloadCompleted(_logger, id, entry.Record.TargetModelId, version);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped on purpose (usually an OperationCanceledException; whatever else broke on the way out, such as a
            // registration cut short, is the stop's doing). Pause keeps the files; cancel and delete are finished by their
            // callers; shutdown leaves the stored state as it is, so that the next process resumes.
            lock (_gate)
            {
                if (entry.Stop == StopReason.Pause) SetStatus(entry, DownloadStatus.Paused);
            }
        }
        catch (Exception ex)
        {
            var failure = Describe(ex);
            if (failure.Code == ModelKitErrorCodes.InternalError) Log.DownloadCrashed(_logger, ex, id);
            else Log.DownloadFailed(_logger, id, failure.Code, failure.Message);
            if (failure.Code == ModelKitErrorCodes.InsufficientStorage) DeleteFiles(id); // give the disk back
            else DeleteDirectory(Path.Combine(TaskDirectory(id), "unpacked")); // an archive's unpacked copy is made again on resume
            lock (_gate) Finish(entry, DownloadStatus.Failed, failure);
        }
        finally
        {
            lock (_gate)
            {
                _active--;
                // Only this run's own handles: a resume may already have started the next run.
                if (ReferenceEquals(entry.Run, run))
                {
                    entry.Run = null;
                    entry.Running = null;
                }
            }

            run.Dispose();
            if (!_stopping.IsCancellationRequested)
            {
                try
                {
                    await SaveAsync(entry).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException)
                {
                    Log.DownloadCrashed(_logger, ex, id);
                }

                Pump();
            }
        }
    }

    /// <summary>
    /// Fetches file <paramref name="index"/> to <c>name.part</c>, resuming from its length, retried through the resilience
    /// pipeline; checks its size and hash; then renames it to its name. A source that ignores <c>Range</c> starts the
    /// file over (the partial bytes are dropped, never spliced).
    /// </summary>
    private async Task TransferAsync(Entry entry, int index, CancellationToken cancellationToken)
    {
        var record = entry.Record;
        var file = record.Plan.Files[index];
        var final = FilePath(record.Id, file.Name);
        if (File.Exists(final))
        {
            Interlocked.Exchange(ref entry.Bytes[index], new FileInfo(final).Length);
            entry.Verified[index] = true;
            return;
        }

        var part = final + ".part";
        Directory.CreateDirectory(Path.GetDirectoryName(part)!);
        var source = _sources.TryGetValue(record.Source, out var s) ? s : throw new InvalidSourceException($"The source '{record.Source}' of this task is no longer configured.");
        string? expectedSha256 = null;
        await _retry.ExecuteAsync(async token =>
        {
            var offset = File.Exists(part) ? new FileInfo(part).Length : 0;
            if (file.Size is { } expected && offset > expected) offset = 0;
            if (file.Size is { } size && offset == size && offset > 0) return;
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(token);
            stall.CancelAfter(_options.StallTimeout);
            ModelSourceContent content;
            try
            {
                content = await source.OpenAsync(record.Plan, file, offset, stall.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                throw new TimeoutException($"The source did not answer within {_options.StallTimeout.TotalSeconds:0.#} s.");
            }

            await using (content.ConfigureAwait(false))
            {
                if (file.Size is { } planned && content.TotalLength is { } total && total != planned)
                {
                    throw new IntegrityException($"'{file.Name}' is {total} bytes at the source now, not the {planned} bytes it had when the download was planned: the file changed. Start a new download.");
                }

                // What the hub says with the file must agree with the plan: the commit asked for, the hash published.
                if (content.Revision is { Length: 40 } served && record.Plan.Revision.Length == 40 && !served.Equals(record.Plan.Revision, StringComparison.OrdinalIgnoreCase))
                {
                    throw new IntegrityException($"The hub served '{file.Name}' from commit {served[..12]}…, not the pinned {record.Plan.Revision[..12]}….");
                }

                if (content.EntityTag is { } tag && (file.Sha256 ?? file.GitBlobSha1) is { } published && tag.Length == published.Length
                    && !tag.Equals(published, StringComparison.OrdinalIgnoreCase))
                {
                    throw new IntegrityException($"The hub sent '{file.Name}' with the hash {tag[..12]}…, not the {published[..12]}… its listing published.");
                }

                if (content.EntityTag is { Length: 64 } sha256 && file.Sha256 is null && file.GitBlobSha1 is null)
                {
                    expectedSha256 = sha256; // a hub whose listing gave no hash: the one it sends with the file is checked
                }

                if (content.Offset != offset) Log.DownloadRangeIgnored(_logger, record.Id, file.Name, offset);
                using var output = new FileStream(part, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, BufferSize, FileOptions.Asynchronous);
                output.SetLength(content.Offset);
                output.Position = content.Offset;
                Interlocked.Exchange(ref entry.Bytes[index], content.Offset);
                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
                try
                {
                    var written = content.Offset;
                    while (true)
                    {
                        stall.CancelAfter(_options.StallTimeout);
                        int read;
                        try
                        {
                            read = await content.Content.ReadAsync(buffer.AsMemory(0, BufferSize), stall.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (!token.IsCancellationRequested)
                        {
                            throw new TimeoutException($"No bytes of '{file.Name}' arrived for {_options.StallTimeout.TotalSeconds:0.#} s.");
                        }

                        if (read == 0) break;
                        written += read;
                        if (file.Size is { } limit && written > limit)
                        {
                            throw new IntegrityException($"'{file.Name}' is longer than the {limit} bytes its source published.");
                        }

                        // A file of unknown size is held to the registry's limit and the disk's reserve as it arrives.
                        if (written > _maxArtifactBytes)
                        {
                            throw new PayloadTooLargeException($"'{file.Name}' passed {Bytes(_maxArtifactBytes)}, the most the registry accepts (ModelKit:MaxArtifactBytes).");
                        }

                        if ((written & ((1L << 26) - 1)) < read && new DriveInfo(_dataDirectory).AvailableFreeSpace < _options.ReservedFreeBytes)
                        {
                            throw new InsufficientStorageException($"The disk's free space fell below the {Bytes(_options.ReservedFreeBytes)} kept in reserve while '{file.Name}' arrived.");
                        }

                        await output.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                        Interlocked.Add(ref entry.Bytes[index], read);
                    }

                    await output.FlushAsync(token).ConfigureAwait(false);
                    if (file.Size is { } whole && written < whole)
                    {
                        // The connection ended early: retried, from where it stopped.
                        throw new TransferEndedException($"The source ended '{file.Name}' after {written} of {whole} bytes.");
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }, cancellationToken).ConfigureAwait(false);

        await VerifyAsync(expectedSha256 is null ? file : file with { Sha256 = expectedSha256 }, part, cancellationToken).ConfigureAwait(false);
        File.Move(part, final, overwrite: true);
        Interlocked.Exchange(ref entry.Bytes[index], new FileInfo(final).Length);
        entry.Verified[index] = true;
    }

    /// <summary>Checks the file against the sha256 (or git blob sha1) its source published; a mismatch deletes it and fails the task.</summary>
    private static async Task VerifyAsync(ModelSourceFile file, string path, CancellationToken cancellationToken)
    {
        var length = new FileInfo(path).Length;
        if (file.Size is { } size && length != size)
        {
            File.Delete(path);
            throw new IntegrityException($"'{file.Name}' arrived with {length} bytes, not the {size} its source published.");
        }

        if (file.Sha256 is null && file.GitBlobSha1 is null) return;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        string actual, expected;
        if (file.Sha256 is { } sha256)
        {
            actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
            expected = sha256;
        }
        else
        {
            // A git blob's id: sha1 over "blob {length}\0" and the content.
            using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
            sha1.AppendData(Encoding.ASCII.GetBytes($"blob {length}\0"));
            var buffer = new byte[BufferSize];
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0) sha1.AppendData(buffer, 0, read);
            actual = Convert.ToHexStringLower(sha1.GetHashAndReset());
            expected = file.GitBlobSha1!;
        }

        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            File.Delete(path);
            throw new IntegrityException($"'{file.Name}' does not match the hash its source published ({expected[..12]}…, got {actual[..12]}…); it was deleted and nothing was registered.");
        }
    }

    /// <summary>Hands the verified files to the registry's ingest pipeline (unpacking an archive first); returns the version.</summary>
    private async Task<string> RegisterAsync(Entry entry, CancellationToken cancellationToken)
    {
        var record = entry.Record;
        var plan = record.Plan;
        var request = record.Request;
        List<ArtifactSource> files;
        string primary;
        if (plan.PathInArchive is { } inside)
        {
            var unpacked = Path.Combine(TaskDirectory(record.Id), "unpacked");
            if (Directory.Exists(unpacked)) Directory.Delete(unpacked, recursive: true);
            var archive = plan.Files[0];
            var names = await ArchiveFormats.ExtractAsync(FilePath(record.Id, archive.Name), archive.Name, inside, unpacked, _maxArtifactBytes, cancellationToken).ConfigureAwait(false);
            (var chosen, primary) = FileSelection.Select(names, request.AllowPatterns, request.IgnorePatterns);
            files = chosen.Select(n => ArtifactSource.FromFile(n, ArtifactNames.Combine(unpacked, n))).ToList();
        }
        else
        {
            primary = plan.PrimaryFile ?? FileSelection.ChoosePrimary(plan.Files.Select(f => f.Name).ToList())
                ?? throw new InvalidModelConfigException("The download holds no ONNX file.");
            files = plan.Files.Select(f => ArtifactSource.FromFile(f.Name, FilePath(record.Id, f.Name))).ToList();
        }

        var target = record.TargetModelId;
        var existing = await _registry.FindModelAsync(target, cancellationToken).ConfigureAwait(false);
        if (existing is not null && await FindSameVersionAsync(existing, files, cancellationToken).ConfigureAwait(false) is { } same
            && (request.Version is null || request.Version == same))
        {
            // The same files are a version already (registered by this task before the process stopped, between the
            // registry's commit and the task's record, or downloaded before): they are not registered twice.
            return same;
        }

        if (existing is null)
        {
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["source"] = record.Source,
                ["source_revision"] = plan.Revision.Length <= 128 ? plan.Revision : plan.Revision[..128],
                ["download_task"] = record.Id,
            };
            if (record.Source == HuggingFaceSource.SourceName) metadata["source_repository"] = plan.Location;
            var definition = new ModelDefinition
            {
                Id = target,
                Name = target,
                Framework = "onnx",
                Task = request.Task ?? plan.Task,
                Tags = plan.Tags.Where(t => t.Length is > 0 and <= 64).Take(32).ToList(),
                Metadata = metadata,
            };
            try
            {
                var model = await _registry.RegisterAsync(definition, files, primary, request.Version, cancellationToken).ConfigureAwait(false);
                return model.Versions.OrderByDescending(v => v.CreatedAt).First().Version;
            }
            catch (ModelAlreadyExistsException)
            {
                // Registered meanwhile by someone else: this download becomes a new version of it.
            }
        }

        var version = await _registry.AddVersionAsync(target, request.Version, files, primary, cancellationToken).ConfigureAwait(false);
        return version.Version;
    }

    /// <summary>A ready version of <paramref name="model"/> with exactly these files (names and contents), if any.</summary>
    private static async Task<string?> FindSameVersionAsync(ModelInfo model, List<ArtifactSource> files, CancellationToken cancellationToken)
    {
        var candidates = model.Versions.Where(v => v.Status == ModelVersionStatus.Ready && v.Files.Count == files.Count).ToList();
        if (candidates.Count == 0) return null;
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var (stream, owned) = await file.OpenAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                hashes[file.Name] = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
            }
            finally
            {
                if (owned) await stream.DisposeAsync().ConfigureAwait(false);
            }
        }

        return candidates.FirstOrDefault(v => v.Files.All(f => hashes.TryGetValue(f.Name, out var hash) && string.Equals(hash, f.Sha256, StringComparison.OrdinalIgnoreCase)))?.Version;
    }

    /// <summary>Publishes progress of the downloading tasks about every <see cref="DownloadOptions.ProgressInterval"/>.</summary>
    private async Task TickAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.ProgressInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                lock (_gate)
                {
                    var now = _time.GetTimestamp();
                    foreach (var entry in _tasks.Values)
                    {
                        if (entry.Record.Status != DownloadStatus.Downloading) continue;
                        entry.Speed.Sample(now, entry.Bytes.Sum(), _time);
                        _watchers.Publish(new DownloadEvent(DownloadEventKind.Progress, Snapshot(entry)));
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private static DownloadFailure Describe(Exception ex) => ex switch
    {
        IntegrityException integrity => new(ModelKitErrorCodes.IntegrityCheckFailed, integrity.Message),
        ModelKitException known => new(known.ErrorCode, known.Message),
        IOException io when ArchiveFormats.IsDiskFull(io) => new(ModelKitErrorCodes.InsufficientStorage, "The disk filled up during the download; its files were removed. Free space and resume it."),
        TransferEndedException ended => new(ModelKitErrorCodes.SourceUnavailable, ended.Message + " Gave up after every retry."),
        IOException { InnerException: System.Net.Sockets.SocketException } or HttpIOException =>
            new(ModelKitErrorCodes.SourceUnavailable, "The connection to the source kept breaking; gave up after every retry."),
        HttpRequestException { StatusCode: { } status } => new(ModelKitErrorCodes.SourceUnavailable, $"The source kept failing ({(int)status}) after every retry."),
        HttpRequestException => new(ModelKitErrorCodes.SourceUnavailable, "The source could not be reached after every retry."),
        TimeoutException timeout => new(ModelKitErrorCodes.SourceUnavailable, timeout.Message + " Gave up after every retry."),
        // Anything else (the server's own file system) is the server's fault, and its message may name server paths.
        _ => new(ModelKitErrorCodes.InternalError, "The download failed on the server; the server's log has the details."),
    };

    /// <summary>Sets each file's received bytes from what is on disk (after a restart, or a resume).</summary>
    private void MeasureFiles(Entry entry)
    {
        var record = entry.Record;
        for (var i = 0; i < record.Plan.Files.Count; i++)
        {
            var final = FilePath(record.Id, record.Plan.Files[i].Name);
            var part = final + ".part";
            entry.Verified[i] = File.Exists(final);
            entry.Bytes[i] = entry.Verified[i] ? new FileInfo(final).Length : File.Exists(part) ? new FileInfo(part).Length : 0;
        }
    }

    private void RemoveOrphanedFiles()
    {
        foreach (var directory in Directory.EnumerateDirectories(_stagingRoot))
        {
            var id = Path.GetFileName(directory);
            bool known;
            lock (_gate) known = _tasks.TryGetValue(id, out var entry) && entry.Record.Status is not (DownloadStatus.Completed or DownloadStatus.Cancelled);
            if (!known) DeleteDirectory(directory);
        }
    }

    private async Task TrimFinishedAsync()
    {
        List<string> old;
        lock (_gate)
        {
            var finished = _tasks.Values.Where(e => IsFinal(e.Record.Status)).OrderBy(e => e.Record.FinishedAt).ToList();
            old = finished.Take(Math.Max(0, finished.Count - _options.MaxFinishedTasks)).Select(e => e.Record.Id).ToList();
        }

        foreach (var id in old)
        {
            try
            {
                await DeleteAsync(id).ConfigureAwait(false);
            }
            catch (DownloadNotFoundException)
            {
                // Deleted meanwhile by someone else.
            }
        }
    }

    private string TaskDirectory(string id) => Path.Combine(_stagingRoot, id);

    private string FilePath(string id, string name) => ArtifactNames.Combine(Path.Combine(TaskDirectory(id), "files"), name);

    private void DeleteFiles(string id) => DeleteDirectory(TaskDirectory(id));

    private void DeleteDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.DownloadCleanupFailed(_logger, ex, Path.GetFileName(directory));
        }
    }

    private static long DirectorySize(string directory) =>
        Directory.Exists(directory)
            ? new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }).Sum(f => f.Length)
            : 0;

    /// <summary>A transferred file that does not match what its source published: not retried.</summary>
    private sealed class IntegrityException(string message) : Exception(message);

    /// <summary>The source ended a file before its length (retried, from where it stopped).</summary>
    private sealed class TransferEndedException(string message) : IOException(message);
}

/// <summary>Bytes a second over the last five seconds of samples.</summary>
internal sealed class SpeedMeter
{
    private readonly Queue<(long Timestamp, long Bytes)> _samples = new();

    public double BytesPerSecond { get; private set; }

    public void Reset(long timestamp, long bytes)
    {
        _samples.Clear();
        _samples.Enqueue((timestamp, bytes));
        BytesPerSecond = 0;
    }

    public void Sample(long timestamp, long bytes, TimeProvider time)
    {
        _samples.Enqueue((timestamp, bytes));
        while (_samples.Count > 2 && time.GetElapsedTime(_samples.Peek().Timestamp, timestamp) > TimeSpan.FromSeconds(5)) _samples.Dequeue();
        var (firstTime, firstBytes) = _samples.Peek();
        var seconds = time.GetElapsedTime(firstTime, timestamp).TotalSeconds;
        BytesPerSecond = seconds > 0.05 ? Math.Max(0, bytes - firstBytes) / seconds : 0;
    }
}
