using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Onnx;
using ModelKit.Tensors;

namespace ModelKit.Tests;

public sealed class OnnxBackendTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly OnnxBackend _backend = new(Options.Create(new OnnxRuntimeOptions { IntraOpThreads = 1 }));

    private static float[] Row(int seed, int length)
    {
        var row = new float[length];
        for (var i = 0; i < length; i++) row[i] = MathF.Sin(seed + (i * 0.37f));
        return row;
    }

    [Fact]
    public async Task LoadAsync_GeneratedMlp_DescribesInputsAndOutputs()
    {
        using var session = await _backend.LoadAsync(new ModelLoadRequest(TestModels.Mlp));
        Assert.Equal("x float32[?,64]", $"{session.Signature.Inputs[0].Name} {session.Signature.Inputs[0].Describe()}");
        Assert.Equal("logits float32[?,10]", $"{session.Signature.Outputs[0].Name} {session.Signature.Outputs[0].Describe()}");
        Assert.True(session.Signature.SupportsBatching);
        Assert.True(session.MemoryBytes > 0);
        Assert.Equal(ExecutionDevice.Cpu, session.Device);
    }

    [Fact]
    public async Task LoadAsync_ConcurrentRunsOnTheCpu_ShareTheCoresUnlessThreadsAreSet()
    {
        var defaults = new OnnxBackend(Options.Create(new OnnxRuntimeOptions()));
        using (var alone = (OnnxModelSession)await defaults.LoadAsync(new ModelLoadRequest(TestModels.Mlp)))
        {
            Assert.Null(alone.IntraOpThreads); // one run at a time: ONNX Runtime's default (a thread per core)
        }

        using (var shared = (OnnxModelSession)await defaults.LoadAsync(new ModelLoadRequest(TestModels.Mlp) { ConcurrentRuns = 2 }))
        {
            Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), shared.IntraOpThreads);
        }

        using (var many = (OnnxModelSession)await defaults.LoadAsync(new ModelLoadRequest(TestModels.Mlp) { ConcurrentRuns = 4 * Environment.ProcessorCount }))
        {
            Assert.Equal(1, many.IntraOpThreads);
        }

        using (var asked = (OnnxModelSession)await defaults.LoadAsync(new ModelLoadRequest(TestModels.Mlp) { ConcurrentRuns = 2, IntraOpThreads = 3 }))
        {
            Assert.Equal(3, asked.IntraOpThreads);
        }

        using var configured = (OnnxModelSession)await _backend.LoadAsync(new ModelLoadRequest(TestModels.Mlp) { ConcurrentRuns = 2 });
        Assert.Equal(1, configured.IntraOpThreads); // OnnxRuntimeOptions.IntraOpThreads wins over the share
    }

    [Fact]
    public async Task Run_BatchOfRequests_EqualsEachRequestRunAlone()
    {
        using var session = await _backend.LoadAsync(new ModelLoadRequest(TestModels.Mlp));
        var requests = new IReadOnlyDictionary<string, Tensor>[]
        {
            new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Row(1, 64), 1, 64) },
            new Dictionary<string, Tensor> { ["x"] = Tensor.Create([.. Row(2, 64), .. Row(3, 64)], 2, 64) },
            new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Row(4, 64), 1, 64) },
        };

        var batched = await session.RunAsync(requests);
        Assert.Equal(3, batched.Count);
        Assert.Equal([2L, 10L], batched[1]["logits"].Shape.ToArray());
        for (var i = 0; i < requests.Length; i++)
        {
            var alone = (await session.RunAsync([requests[i]]))[0]["logits"].ToArray<float>();
            var together = batched[i]["logits"].ToArray<float>();
            Assert.Equal(alone.Length, together.Length);
            for (var j = 0; j < alone.Length; j++) Assert.Equal(alone[j], together[j], 4);
        }

        Assert.NotEqual(batched[0]["logits"].ToArray<float>(), batched[2]["logits"].ToArray<float>());
    }

    [Fact]
    public async Task Run_GeneratedBertEncoder_ReturnsHiddenStatesAndHonoursTheMask()
    {
        using var session = await _backend.LoadAsync(new ModelLoadRequest(TestModels.BertTiny));
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], session.Signature.Inputs.Select(i => i.Name));
        Assert.Equal("float32[?,?,64]", session.Signature.Outputs[0].Describe());

        long[] ids = [101, 7, 42, 99, 102, 0, 0, 0];
        Dictionary<string, Tensor> Inputs(long[] mask) => new()
        {
            ["input_ids"] = Tensor.Create(ids, 1, 8),
            ["attention_mask"] = Tensor.Create(mask, 1, 8),
            ["token_type_ids"] = Tensor.Create(new long[8], 1, 8),
        };

        var masked = (await session.RunAsync([Inputs([1, 1, 1, 1, 1, 0, 0, 0])]))[0]["last_hidden_state"];
        var unmasked = (await session.RunAsync([Inputs([1, 1, 1, 1, 1, 1, 1, 1])]))[0]["last_hidden_state"];
        Assert.Equal([1L, 8L, 64L], masked.Shape.ToArray());
        Assert.All(masked.ToArray<float>(), v => Assert.True(float.IsFinite(v)));
        // Position 0 attends to the padding only when the mask allows it.
        var first = masked.AsSpan<float>()[..64].ToArray();
        var firstUnmasked = unmasked.AsSpan<float>()[..64].ToArray();
        Assert.True(first.Zip(firstUnmasked).Any(p => MathF.Abs(p.First - p.Second) > 1e-4f), "the attention mask changes the output");
        // LayerNorm output: each position has mean ≈ 0.
        Assert.InRange(first.Average(), -0.05, 0.05);
    }

    [Fact]
    public async Task LoadAsync_NotAnOnnxFile_ThrowsInvalidModelConfig()
    {
        var path = _dir.Combine("junk.onnx");
        await File.WriteAllTextAsync(path, "this is not a protobuf");
        var error = await Assert.ThrowsAsync<InvalidModelConfigException>(async () => await _backend.LoadAsync(new ModelLoadRequest(path)));
        Assert.Contains("junk.onnx", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_TruncatedOnnxFile_ThrowsInvalidModelConfig()
    {
        var path = _dir.Combine("truncated.onnx");
        var bytes = await File.ReadAllBytesAsync(TestModels.Mlp);
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2)]);
        await Assert.ThrowsAsync<InvalidModelConfigException>(async () => await _backend.LoadAsync(new ModelLoadRequest(path)));
    }

    [Fact]
    public async Task LoadAsync_CudaWithoutCudaBuild_ThrowsDeviceUnavailable()
    {
        var error = await Assert.ThrowsAsync<DeviceUnavailableException>(async () =>
            await _backend.LoadAsync(new ModelLoadRequest(TestModels.Mlp) { Device = ExecutionDevice.Cuda(0) }));
        Assert.Equal(ModelKitErrorCodes.DeviceUnavailable, error.ErrorCode);
        Assert.Contains("cuda:0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_CudaWithCpuFallback_RunsOnCpu()
    {
        var backend = new OnnxBackend(Options.Create(new OnnxRuntimeOptions { CpuFallback = true }));
        using var session = await backend.LoadAsync(new ModelLoadRequest(TestModels.Mlp) { Device = ExecutionDevice.Cuda(0) });
        Assert.Equal(ExecutionDevice.Cpu, session.Device);
        var output = await session.RunAsync([new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Row(1, 64), 1, 64) }]);
        Assert.Equal([1L, 10L], output[0]["logits"].Shape.ToArray());
    }

    [Fact]
    public async Task LoadAsync_MissingProviderLibrary_ThrowsDeviceUnavailable()
    {
        var backend = new OnnxBackend(Options.Create(new OnnxRuntimeOptions { ExecutionProviderLibraryPath = _dir.Combine("libnope.so") }));
        var error = await Assert.ThrowsAsync<DeviceUnavailableException>(async () =>
            await backend.LoadAsync(new ModelLoadRequest(TestModels.Mlp) { Device = ExecutionDevice.Cuda(1) }));
        Assert.Contains("libnope.so", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Dispose();
}
