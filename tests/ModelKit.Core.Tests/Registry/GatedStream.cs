namespace ModelKit.Tests.Registry;

/// <summary>
/// An upload that stalls: it hands out its first bytes, signals <see cref="FirstReadDone"/>, then waits for
/// <see cref="Release"/> before handing out the rest, so a test can act while an upload is in flight.
/// </summary>
internal sealed class GatedStream(byte[] first, byte[] rest) : Stream
{
    private int _state;

    public TaskCompletionSource FirstReadDone { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        switch (_state++)
        {
            case 0:
                first.CopyTo(buffer);
                return first.Length;
            case 1:
                FirstReadDone.TrySetResult();
                await Release.Task.WaitAsync(cancellationToken);
                rest.CopyTo(buffer);
                return rest.Length;
            default:
                return 0;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
