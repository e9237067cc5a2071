using ModelKit.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Onnx.Text;
using ModelKit.Registry;
using ModelKit.Scheduling;

namespace ModelKit.Tests.Text;

/// <summary>One host with the real all-MiniLM-L6-v2 and the generated MLP (no tokenizer) registered, shared by the tests.</summary>
public sealed class MiniLmHost : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();

    public ServiceProvider Provider { get; private set; } = null!;

    public ITextEmbeddingService Embeddings => Provider.GetRequiredService<ITextEmbeddingService>();

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection().AddLogging().AddMetrics();
        services.AddModelKit(o => o.DataDirectory = _dir.Path)
            .AddOnnxRuntime(o => o.IntraOpThreads = 1)
            .ConfigureCache(c => c.MemoryLimitBytes = 2L << 30)
            .ConfigureInference(o => o.DefaultBatching = new BatchingOptions { MaxBatchSize = 64, MaxQueueDelay = TimeSpan.FromMilliseconds(2) })
            .ConfigureTextEmbeddings(o => o.MaxInputs = 100)
            .AddEmbeddingGenerator(MiniLm.Id);
        Provider = services.BuildServiceProvider();
        var registry = Provider.GetRequiredService<IModelRegistry>();
        await MiniLm.RegisterAsync(registry);
        await registry.RegisterFileAsync(new ModelDefinition { Id = "mlp", Name = "MLP" }, TestModels.Mlp);
    }

    public async Task DisposeAsync()
    {
        await Provider.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>Sentence embeddings on the real all-MiniLM-L6-v2: tokenizer → model through the queue → mean pooling → L2 norm.</summary>
public sealed class EmbeddingsTests(MiniLmHost host) : IClassFixture<MiniLmHost>
{
    private static readonly string[] Mixed =
    [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The girl is carrying a baby.",
        "A man is riding a horse.",
        string.Join(' ', Enumerable.Repeat("A monkey is playing drums in a long sentence that keeps going.", 12)),
        "Two men pushed carts through the woods.",
        "Hi",
        string.Join(' ', Enumerable.Repeat("word", 60)),
    ];

    private Task<TextEmbeddingResult> EmbedAsync(params string[] texts) =>
        host.Embeddings.EmbedAsync(new TextEmbeddingRequest { ModelId = MiniLm.Id, Texts = texts });

    [Fact]
    public async Task Similarity_MatchesSentenceTransformersPublishedValue()
    {
        var result = await EmbedAsync("A man is eating food.", "A man is eating a piece of bread.");

        Assert.Equal(384, result.Dimensions);
        Assert.Equal(0.755, MiniLm.Cosine(result.Embeddings[0], result.Embeddings[1]), 0.005);
        Assert.Equal(1f, System.Numerics.Tensors.TensorPrimitives.Norm(result.Embeddings[0]), 1e-5f);
        Assert.Equal([8, 11], result.TokenCounts); // [CLS] a man is eating food . [SEP]
        Assert.Equal(19, result.TotalTokens);
        Assert.Equal(256, result.MaxTokens);
    }

    [Fact]
    public async Task Embedding_IsTheSameAloneAndInsideAnyBatch()
    {
        var together = await EmbedAsync(Mixed);
        var reversed = await EmbedAsync([.. Mixed.Reverse()]);
        for (var i = 0; i < Mixed.Length; i++)
        {
            var alone = (await EmbedAsync(Mixed[i])).Embeddings[0];
            AssertClose(alone, together.Embeddings[i]);
            AssertClose(alone, reversed.Embeddings[Mixed.Length - 1 - i]);
        }

        // Concurrent single-text callers are merged by the queue (same bucket) and still get their own vectors.
        var concurrent = await Task.WhenAll(Mixed.Select(t => Task.Run(() => EmbedAsync(t))));
        for (var i = 0; i < Mixed.Length; i++) AssertClose(together.Embeddings[i], concurrent[i].Embeddings[0]);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var j = 0; j < expected.Length; j++) Assert.True(Math.Abs(expected[j] - actual[j]) <= 1e-5f, $"value {j}: {expected[j]} vs {actual[j]}");
    }

    [Fact]
    public async Task LongText_IsTruncatedAndReported_OrRefusedWhenTruncationIsOff()
    {
        var longText = string.Join(' ', Enumerable.Repeat("banana", 400));
        var result = await EmbedAsync(longText, "short");
        Assert.Equal([true, false], result.Truncated);
        Assert.Equal(256, result.TokenCounts[0]);

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => host.Embeddings.EmbedAsync(
            new TextEmbeddingRequest { ModelId = MiniLm.Id, Texts = ["short", longText], Truncate = false }));
        Assert.Contains("input[1] has more than 256 tokens", error.Message, StringComparison.Ordinal);
        Assert.Contains("at most 256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenIds_GiveTheSameVectorAsTheText_AndUnknownIdsAreRefused()
    {
        var text = await EmbedAsync("A man is eating food.");
        int[] withSpecials = [101, 1037, 2158, 2003, 5983, 2833, 1012, 102];
        int[] bare = [1037, 2158, 2003, 5983, 2833, 1012];
        var ids = await host.Embeddings.EmbedAsync(new TextEmbeddingRequest { ModelId = MiniLm.Id, TokenIds = [withSpecials, bare] });
        AssertClose(text.Embeddings[0], ids.Embeddings[0]);
        AssertClose(text.Embeddings[0], ids.Embeddings[1]);

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => host.Embeddings.EmbedAsync(
            new TextEmbeddingRequest { ModelId = MiniLm.Id, TokenIds = [[101, 30522, 102]] }));
        Assert.Contains("30522", error.Message, StringComparison.Ordinal);
        Assert.Contains("0..30521", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dimensions_ShortenAndRenormalise_AndMoreThanTheModelHasIsRefused()
    {
        var full = await EmbedAsync("A man is eating food.");
        var short64 = await host.Embeddings.EmbedAsync(new TextEmbeddingRequest { ModelId = MiniLm.Id, Texts = ["A man is eating food."], Dimensions = 64 });
        Assert.Equal(64, short64.Dimensions);
        Assert.Equal(1f, System.Numerics.Tensors.TensorPrimitives.Norm(short64.Embeddings[0]), 1e-5f);
        Assert.Equal(1f, MiniLm.Cosine(full.Embeddings[0][..64], short64.Embeddings[0]), 1e-5f);

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => host.Embeddings.EmbedAsync(
            new TextEmbeddingRequest { ModelId = MiniLm.Id, Texts = ["x"], Dimensions = 1024 }));
        Assert.Contains("384", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadInputs_AreRefusedWithClearMessages()
    {
        var empty = await Assert.ThrowsAsync<InvalidInputException>(() => EmbedAsync());
        Assert.Contains("'input' is empty", empty.Message, StringComparison.Ordinal);

        var blank = await Assert.ThrowsAsync<InvalidInputException>(() => EmbedAsync("ok", ""));
        Assert.Contains("input[1] is an empty string", blank.Message, StringComparison.Ordinal);

        var many = await Assert.ThrowsAsync<InvalidInputException>(() => EmbedAsync([.. Enumerable.Repeat("x", 101)]));
        Assert.Contains("101 entries; at most 100", many.Message, StringComparison.Ordinal);

        var noTokenizer = await Assert.ThrowsAsync<UnsupportedTaskException>(() => host.Embeddings.EmbedAsync(new TextEmbeddingRequest { ModelId = "mlp", Texts = ["x"] }));
        Assert.Contains("no tokenizer", noTokenizer.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<ModelNotFoundException>(() => host.Embeddings.EmbedAsync(new TextEmbeddingRequest { ModelId = "nope", Texts = ["x"] }));
    }

    [Fact]
    public async Task ManyChunks_NeverFillASmallQueue_AndTheTimeoutBoundsTheWholeRequest()
    {
        // A queue of 4 and chunks of at most 64 tokens: 60 texts of ~40 tokens are 60 chunks, four in the queue at a time.
        using var dir = new TempDirectory();
        var services = new ServiceCollection().AddLogging().AddMetrics();
        services.AddModelKit(o => o.DataDirectory = dir.Path)
            .AddOnnxRuntime(o => o.IntraOpThreads = 1)
            .ConfigureInference(o => o.DefaultBatching = new BatchingOptions { MaxBatchSize = 64, MaxQueueSize = 4 })
            .ConfigureTextEmbeddings(o => o.MaxChunkTokens = 64);
        await using var provider = services.BuildServiceProvider();
        await MiniLm.RegisterAsync(provider.GetRequiredService<IModelRegistry>());
        var embeddings = provider.GetRequiredService<ITextEmbeddingService>();
        var texts = Enumerable.Range(0, 60).Select(i => $"Sentence number {i} is long enough to need about forty tokens of text, with several words in it to pad it out.").ToArray();

        var result = await embeddings.EmbedAsync(new TextEmbeddingRequest { ModelId = MiniLm.Id, Texts = texts });
        Assert.Equal(60, result.Embeddings.Count);
        var alone = await embeddings.EmbedAsync(new TextEmbeddingRequest { ModelId = MiniLm.Id, Texts = [texts[37]] });
        AssertClose(alone.Embeddings[0], result.Embeddings[37]);

        // The timeout is the whole request's, not each chunk's.
        await Assert.ThrowsAsync<InferenceTimeoutException>(() => embeddings.EmbedAsync(
            new TextEmbeddingRequest { ModelId = MiniLm.Id, Texts = texts, Timeout = TimeSpan.FromMilliseconds(30) }));
    }

    [Fact]
    public async Task Registering_ABrokenTokenizer_BesideAModelInASubfolder_IsRefusedAndNothingKept()
    {
        // The Hugging Face layout: onnx/model.onnx, with the tokenizer at the version's root.
        var registry = host.Provider.GetRequiredService<IModelRegistry>();
        var error = await Assert.ThrowsAsync<InvalidModelConfigException>(() => registry.RegisterAsync(
            new ModelDefinition { Id = "broken-tokenizer", Name = "Broken tokenizer" },
            [ArtifactSource.FromFile("onnx/model.onnx", Path.Combine(MiniLm.Directory, "model.onnx")), new ArtifactSource("tokenizer.json", new MemoryStream("{ not json"u8.ToArray()))],
            primaryFile: "onnx/model.onnx"));
        Assert.Contains("tokenizer.json", error.Message, StringComparison.Ordinal);
        Assert.Null(await registry.FindModelAsync("broken-tokenizer"));
    }

    [Fact]
    public async Task Describe_ReportsTheEncoder()
    {
        var info = await host.Embeddings.DescribeAsync(MiniLm.Id);
        Assert.Equal(384, info.Dimensions);
        Assert.Equal(256, info.MaxTokens);
        Assert.Equal("wordpiece", info.Tokenizer);
        Assert.Equal(30522, info.VocabularySize);
        Assert.Equal("mean", info.Pooling);
        Assert.True(info.Normalize);
    }

    [Fact]
    public async Task EmbeddingGenerator_IsRegisteredKeyedAndUnkeyed_AndGivesTheServiceVectors()
    {
        var keyed = host.Provider.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>(MiniLm.Id);
        Assert.Same(keyed, host.Provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());

        var generated = await keyed.GenerateAsync(["A man is eating food.", "A man is eating a piece of bread."]);
        Assert.Equal(2, generated.Count);
        Assert.Equal(0.755, MiniLm.Cosine(generated[0].Vector.ToArray(), generated[1].Vector.ToArray()), 0.005);
        Assert.Equal(19, generated.Usage!.InputTokenCount);
        Assert.Equal(MiniLm.Id, generated[0].ModelId);

        var metadata = keyed.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.Equal("modelkit", metadata.ProviderName);
        Assert.Equal(MiniLm.Id, metadata.DefaultModelId);
        Assert.Equal(384, metadata.DefaultModelDimensions);

        var shorter = await keyed.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 32 });
        Assert.Equal(32, shorter[0].Vector.Length);
    }

    [Fact]
    public async Task EmbeddingGenerator_ForAModelRegisteredAtRunTime_ComesFromTheFactory()
    {
        await MiniLm.RegisterAsync(host.Provider.GetRequiredService<IModelRegistry>(), "minilm-later");
        var generator = host.Provider.GetRequiredService<ModelKitEmbeddingGenerators>().Create("minilm-later");
        var info = await generator.DescribeAsync();
        Assert.Equal(384, info.Dimensions);
        var vectors = await generator.GenerateVectorAsync("A man is eating food.");
        Assert.Equal(384, vectors.Length);
    }

    [Fact]
    public async Task EmbeddingGenerator_HonoursCancellation()
    {
        var generator = host.Provider.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>(MiniLm.Id);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(["A man is eating food."], cancellationToken: cancelled.Token));

        // Cancelled while its chunks wait in the queue behind a large request: the caller is released while that request
        // still runs (not when the queue reaches it), and the service stays usable.
        // (The queue's length is a net figure: waiting for it to grow past the large request's share raced with that
        // request's chunks leaving. What matters is that the large request is queued when the other one arrives.)
        var router = host.Provider.GetRequiredService<ModelKit.Serving.IModelRouter>();
        var big = generator.GenerateAsync([.. Enumerable.Repeat(string.Join(' ', Enumerable.Repeat("long text", 100)), 64)]);
        using var cancel = new CancellationTokenSource();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (router.GetQueueStats().Values.Sum(q => q.QueueLength) == 0 && !big.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(1);
        Assert.False(big.IsCompleted);
        var behind = generator.GenerateAsync([.. Enumerable.Repeat(string.Join(' ', Enumerable.Repeat("other text", 100)), 64)], cancellationToken: cancel.Token);
        Assert.False(behind.IsCompleted); // 64 texts of 200 tokens, queued with the large request's chunks
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => behind);
        Assert.False(big.IsCompleted);
        Assert.Equal(64, (await big).Count);
    }
}
