namespace ModelKit.Registry;

/// <summary>
/// The temporary area of one upload under <c>tmp/</c>: a lock file <c>{token}.lock</c>, held exclusively for the
/// upload's whole life, and a folder <c>{token}/</c> with the files being received (<c>files/</c>, laid out as the
/// version will be) and scratch files. The token is also recorded in the version's row.
/// </summary>
/// <remarks>
/// The lock is what tells a dead upload from a live one: the operating system drops a process's locks when it dies
/// (.NET takes an advisory <c>flock</c> for <see cref="FileShare.None"/> on Unix, a sharing lock on Windows), so a
/// starting process can take the lock of an upload whose process is gone, and only of such an upload. The lock file is
/// created before the version is reserved and deleted after the reservation ended, so a reserved version whose lock
/// file is missing has no live upload either.
/// </remarks>
internal sealed class UploadWorkspace : IDisposable
{
    public const string LockExtension = ".lock";
    private readonly FileStream? _lock;
    private bool _disposed;

    private UploadWorkspace(string tempRoot, string token, FileStream? lockStream)
    {
        Token = token;
        Root = Path.Combine(tempRoot, token);
        _lock = lockStream;
    }

    /// <summary>The upload's token: names its lock file and folder, and is recorded in the version's row.</summary>
    public string Token { get; }

    /// <summary>The upload's folder, <c>tmp/{token}</c>.</summary>
    public string Root { get; }

    /// <summary>Where the version's files are received, at their relative names.</summary>
    public string FilesDirectory => Path.Combine(Root, "files");

    /// <summary>
    /// Starts an upload: creates its lock file, locked, and its folder. The token starts with
    /// <paramref name="owner"/>, the data directory's id and a dash, so that a node over another data directory (sharing the
    /// metadata store) can tell the upload is not its own.
    /// </summary>
    public static UploadWorkspace Create(string tempRoot, string owner)
    {
        for (var attempt = 0; ; attempt++)
        {
            var token = owner + "-" + Guid.NewGuid().ToString("N");
            FileStream? stream = null;
            try
            {
                stream = new FileStream(LockPath(tempRoot, token), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.DeleteOnClose);
                var workspace = new UploadWorkspace(tempRoot, token, stream);
                Directory.CreateDirectory(workspace.FilesDirectory);
                return workspace;
            }
            catch (IOException)
            {
                // A starting process can take a new lock file for an abandoned one in the instant between its creation
                // and its locking (and then deletes it): start again under another token.
                stream?.Dispose();
                if (attempt >= 2) throw;
            }
        }
    }

    /// <summary>
    /// The workspace of an upload whose process is gone, locked so that it can be cleaned up (dispose it); null while
    /// a live process holds its lock.
    /// </summary>
    public static UploadWorkspace? TryClaimAbandoned(string tempRoot, string token)
    {
        try
        {
            var stream = new FileStream(LockPath(tempRoot, token), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.DeleteOnClose);
            return new UploadWorkspace(tempRoot, token, stream);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return new UploadWorkspace(tempRoot, token, lockStream: null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The lock file of <paramref name="token"/>'s upload.</summary>
    public static string LockPath(string tempRoot, string token) => Path.Combine(tempRoot, token + LockExtension);

    /// <summary>Deletes the upload's folder, then its lock file, and releases the lock.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next start's sweep, which deletes folders without a live lock.
        }

        _lock?.Dispose();
    }
}
