using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Backends;
using ModelKit.ModelGenerator;
using ModelKit.Onnx;
using ModelKit.Tensors;

namespace ModelKit.Tests;

/// <summary>Every element type the issue names, through real ONNX Runtime sessions, alone and stacked in batches.</summary>
public sealed class TensorTypeTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly OnnxBackend _backend = new(Options.Create(new OnnxRuntimeOptions { IntraOpThreads = 1 }));

    private string TypedModel() => DemoModels.Write(Path.Combine(_dir.Path, "typed.onnx"), DemoModels.CreateTypedIo());

    private static Dictionary<string, Tensor> Request(int seed, int rows)
    {
        var n = rows;
        return new()
        {
            ["h"] = Tensor.Create(Enumerable.Range(0, n * 3).Select(k => (Half)(seed + (k * 0.5f))).ToArray(), n, 3),
            ["s"] = Tensor.Create(Enumerable.Range(0, n * 2).Select(k => $"req{seed}-{k}-héllo").ToArray(), n, 2),
            ["b"] = Tensor.Create(Enumerable.Range(0, n * 2).Select(k => (k + seed) % 2 == 0).ToArray(), n, 2),
            ["u"] = Tensor.Create(Enumerable.Range(0, n * 2).Select(k => (byte)(seed * 10 + k)).ToArray(), n, 2),
            ["i"] = Tensor.Create(Enumerable.Range(0, n * 2).Select(k => -(seed * 1000) - k).ToArray(), n, 2),
            ["l"] = Tensor.Create(Enumerable.Range(0, n * 2).Select(k => (long)int.MaxValue * (seed + k)).ToArray(), n, 2),
        };
    }

    [Fact]
    public async Task Run_EveryElementType_RoundTripsAloneAndInBatches()
    {
        using var session = await _backend.LoadAsync(new ModelLoadRequest(TypedModel()));
        Assert.Equal("float16[?,3]", session.Signature.FindInput("h")!.Describe());
        Assert.Equal("string[?,2]", session.Signature.FindInput("s")!.Describe());
        Assert.True(session.Signature.SupportsBatching);

        var requests = new IReadOnlyDictionary<string, Tensor>[] { Request(1, 1), Request(2, 2), Request(3, 1) };
        var alone = (await session.RunAsync([requests[0]]))[0];
        var batched = await session.RunAsync(requests);
        foreach (var (request, result) in new[] { (requests[0], alone), (requests[0], batched[0]), (requests[1], batched[1]), (requests[2], batched[2]) })
        {
            var h = request["h"].ToArray<Half>();
            Assert.Equal(h.Select(x => (float)x), result["h_float"].ToArray<float>());
            Assert.Equal(h.Select(x => (Half)((float)x * 2)), result["h_twice"].ToArray<Half>());
            Assert.Equal(TensorElementType.Float16, result["h_twice"].ElementType);
            Assert.Equal(request["s"].ToArray<string>(), result["s_out"].ToArray<string>());
            Assert.Equal(request["b"].ToArray<bool>().Select(x => !x), result["b_not"].ToArray<bool>());
            Assert.Equal(request["u"].ToArray<byte>(), result["u_out"].ToArray<byte>());
            Assert.Equal(request["i"].ToArray<int>(), result["i_out"].ToArray<int>());
            Assert.Equal(request["l"].ToArray<long>(), result["l_out"].ToArray<long>());
            Assert.Equal(request["s"].Shape.ToArray(), result["s_out"].Shape.ToArray());
        }
    }

    [Fact]
    public async Task SharedThreadPool_SessionsRunOnItAndAgreeWithPerSessionThreads()
    {
        // The pool can be set up only by whoever creates ONNX Runtime's process-wide environment; this
        // assembly runs its tests one at a time, so which of the two cases applies is known here.
        var createdBefore = OrtEnv.IsCreated;
        var shared = new OnnxBackend(Options.Create(new OnnxRuntimeOptions { UseSharedThreadPool = true, SharedThreadPoolSize = 2 }));
        Assert.Equal(!createdBefore, shared.UsesSharedThreadPool);

        using var mlp = await shared.LoadAsync(new ModelLoadRequest(TestModels.Mlp));
        using var bert = await shared.LoadAsync(new ModelLoadRequest(TestModels.BertTiny));
        using var reference = await _backend.LoadAsync(new ModelLoadRequest(TestModels.Mlp));
        var x = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Enumerable.Range(0, 64).Select(i => MathF.Cos(i)).ToArray(), 1, 64) };
        var ids = new Dictionary<string, Tensor>
        {
            ["input_ids"] = Tensor.Create(new long[] { 1, 5, 9, 2 }, 1, 4),
            ["attention_mask"] = Tensor.Create(new long[] { 1, 1, 1, 1 }, 1, 4),
            ["token_type_ids"] = Tensor.Create(new long[4], 1, 4),
        };

        // Both sessions at once on the one pool.
        var runs = await Task.WhenAll(
            Task.Run(() => Enumerable.Range(0, 20).Select(_ => mlp.RunAsync([x]).AsTask().GetAwaiter().GetResult()[0]["logits"].ToArray<float>()).Last()),
            Task.Run(() => Enumerable.Range(0, 20).Select(_ => bert.RunAsync([ids]).AsTask().GetAwaiter().GetResult()[0]["last_hidden_state"].ToArray<float>()).Last()));
        var expected = (await reference.RunAsync([x]))[0]["logits"].ToArray<float>();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], runs[0][i], 4);
        Assert.Equal(4 * 64, runs[1].Length);
    }

    public void Dispose() => _dir.Dispose();
}
