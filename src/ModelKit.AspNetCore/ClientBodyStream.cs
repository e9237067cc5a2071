namespace ModelKit.AspNetCore;

/// <summary>
/// A read-only view of (part of) a request body: a failure to read it (the body ends early, the client went away, a
/// malformed multipart framing) is the client's, so it surfaces as INVALID_INPUT instead of a server error. Whoever
/// consumes the stream (the registry's ingest) cleans up as for any failed upload.
/// </summary>
internal sealed class ClientBodyStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException && !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidInputException(Describe(ex));
        }
    }

    /// <summary>What was wrong with the body, in a sentence that quotes nothing of it.</summary>
    public static string Describe(Exception ex) => ex switch
    {
        InvalidDataException => "The multipart body is malformed (a part's headers are too long or broken; file names are limited to 255 characters).",
        _ => "The request body ended before the upload was complete.",
    };

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
