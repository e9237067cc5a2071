using System.Collections.Concurrent;
using ModelKit.Backends;
using ModelKit.Tensors;

namespace ModelKit.Tests;

/// <summary>
/// A backend for scheduler and cache tests. Every file loads into a session with input <c>x</c> float32[?,2]
/// and output <c>y</c> = 2·x (3·x when the file's text starts with "triple"); a file whose text starts with "bad"
/// fails to load; a CUDA device is unavailable; a row whose first value is NaN makes its batch throw, +∞ makes it throw INVALID_INPUT (as the ONNX backend does for input ORT rejects). It records
/// the batches it ran and can hold runs at a gate; a held run ends when its cancellation token fires.
/// </summary>
public sealed class FakeBackend : IInferenceBackend
{
    public static readonly ModelSignature Signature = new(
        [new TensorSpec("x", TensorElementType.Float32, [-1, 2])],
        [new TensorSpec("y", TensorElementType.Float32, [-1, 2])]);

    private int _loads;
    private int _terminatedRuns;

    public string Framework => "onnx";

    public int Loads => _loads;

    /// <summary>Runs held at <see cref="RunGate"/> that ended because their cancellation token fired.</summary>
    public int TerminatedRuns => Volatile.Read(ref _terminatedRuns);

    public ConcurrentQueue<int[]> Batches { get; } = new();

    /// <summary>The first value of every request, in the order the backend ran them.</summary>
    public ConcurrentQueue<float> RunOrder { get; } = new();

    public List<FakeSession> Sessions { get; } = [];

    /// <summary>Every load request, in order.</summary>
    public ConcurrentQueue<ModelLoadRequest> LoadRequests { get; } = new();

    public SemaphoreSlim? RunGate { get; set; }

    public TaskCompletionSource? LoadGate { get; set; }

    public SemaphoreSlim RunStarted { get; } = new(0);

    public async ValueTask<IModelSession> LoadAsync(ModelLoadRequest request, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _loads);
        LoadRequests.Enqueue(request);
        if (LoadGate is { } gate) await gate.Task.WaitAsync(cancellationToken);
        var text = await File.ReadAllTextAsync(request.ArtifactPath, cancellationToken);
        if (text.StartsWith("bad", StringComparison.Ordinal)) throw new InvalidModelConfigException($"'{request.ArtifactPath}' is not a model.");
        if (request.Device.Kind == DeviceKind.Cuda) throw new DeviceUnavailableException($"{request.Device} is not available to the fake backend.");
        var factor = text.StartsWith("triple", StringComparison.Ordinal) ? 3f : 2f;
        var session = new FakeSession(this, request.Device, new FileInfo(request.ArtifactPath).Length, factor);
        lock (Sessions) Sessions.Add(session);
        return session;
    }

    public sealed class FakeSession(FakeBackend backend, ExecutionDevice device, long bytes, float factor = 2) : IModelSession
    {
        public ModelSignature Signature => FakeBackend.Signature;
        public ExecutionDevice Device => device;
        public long MemoryBytes => bytes;
        public MemoryMeasurement MemoryMeasurement => MemoryMeasurement.Estimated;
        public bool Disposed { get; private set; }

        public async ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> RunAsync(
            IReadOnlyList<IReadOnlyDictionary<string, Tensor>> requests, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(Disposed, this);
            var rows = new int[requests.Count];
            for (var i = 0; i < rows.Length; i++)
            {
                rows[i] = (int)requests[i]["x"].BatchSize;
                backend.RunOrder.Enqueue(requests[i]["x"].AsSpan<float>()[0]);
            }
            backend.Batches.Enqueue(rows);
            backend.RunStarted.Release();
            if (backend.RunGate is { } gate)
            {
                try
                {
                    await gate.WaitAsync(cancellationToken);
                    // Like ONNX Runtime between operators: a run told to stop does not finish (the gate may have
                    // opened for it just as the token fired).
                    cancellationToken.ThrowIfCancellationRequested();
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref backend._terminatedRuns);
                    throw;
                }
            }

            var results = new IReadOnlyDictionary<string, Tensor>[requests.Count];
            for (var i = 0; i < requests.Count; i++)
            {
                var x = requests[i]["x"];
                if (float.IsNaN(x.AsSpan<float>()[0])) throw new InvalidOperationException("NaN input");
                if (float.IsPositiveInfinity(x.AsSpan<float>()[0])) throw new InvalidInputException("The model cannot run on these inputs: infinity"); // as ORT's InvalidArgument maps
                var y = x.ToArray<float>();
                for (var j = 0; j < y.Length; j++) y[j] *= factor;
                results[i] = new Dictionary<string, Tensor> { ["y"] = Tensor.Create(y, x.Shape.ToArray()) };
            }

            return results;
        }

        public void Dispose() => Disposed = true;
    }
}
