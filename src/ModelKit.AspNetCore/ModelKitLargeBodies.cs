using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

/// <summary>
/// Bounds how many large JSON requests are in memory at once (<see cref="ModelKitHttpOptions.MaxConcurrentLargeBodies"/>):
/// a request whose body is large takes a slot before its body is read and gives it back when its response is done, so
/// that many large requests at once queue instead of multiplying the memory a single one needs.
/// </summary>
internal sealed class ModelKitLargeBodies(IOptions<ModelKitHttpOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(Math.Max(1, options.Value.MaxConcurrentLargeBodies));
    private readonly long _largeBytes = options.Value.LargeBodyBytes;

    /// <summary>Takes a slot for <paramref name="request"/> when its body is large (held until the response completes).</summary>
    public static async ValueTask EnterAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.HttpContext.RequestServices.GetService<ModelKitLargeBodies>() is not { } gate) return;
        if (request.ContentLength is { } length && length < gate._largeBytes) return;
        await gate._slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        request.HttpContext.Response.RegisterForDispose(new Slot(gate._slots));
    }

    public void Dispose() => _slots.Dispose();

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) slots.Release();
        }
    }
}
