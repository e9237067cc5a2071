using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelKit.ModelGenerator;
using ModelKit.Onnx.Text.Generation;
using ModelKit.Registry;
using ModelKit.Serving;
using ModelKit.Text;

namespace ModelKit.Tests.Text;

/// <summary>A host with a generated GPT-2-style decoder (GPT-2's real tokenizer) and the MLP registered.</summary>
public class DecoderHost : IAsyncLifetime
{
    public const string Id = "tiny-gpt2";
    private readonly TempDirectory _dir = new();
    private readonly DecoderSpec _spec;

    public DecoderHost() : this(new DecoderSpec { Layers = 2, Hidden = 64, Heads = 4, MaxPositions = 256 })
    {
    }

    protected DecoderHost(DecoderSpec spec) => _spec = spec;

    public ServiceProvider Provider { get; private set; } = null!;

    public ITextGenerationService Generation => Provider.GetRequiredService<ITextGenerationService>();

    public DecoderSpec Spec => _spec;

    /// <summary>A second service over the same models with the KV cache off: each step recomputes the whole sequence.</summary>
    public TextGenerationService CreateService(Action<TextGenerationOptions> configure)
    {
        var options = new TextGenerationOptions();
        configure(options);
        return new TextGenerationService(
            Provider.GetRequiredService<IModelRouter>(), Provider.GetRequiredService<IModelRegistry>(), Options.Create(options));
    }

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection().AddLogging().AddMetrics();
        services.AddModelKit(o => o.DataDirectory = _dir.Combine("data"))
            .AddOnnxRuntime(o => o.IntraOpThreads = 2)
            .ConfigureCache(c => c.MemoryLimitBytes = 4L << 30);
        Provider = services.BuildServiceProvider();
        var registry = Provider.GetRequiredService<IModelRegistry>();
        await RegisterDecoderAsync(registry, Id, _dir.Combine("decoder"), _spec);
        await registry.RegisterFileAsync(new ModelDefinition { Id = "mlp", Name = "MLP" }, TestModels.Mlp);
    }

    /// <summary>Writes the decoder's folder and registers every file of it as one version.</summary>
    public static Task<ModelInfo> RegisterDecoderAsync(IModelRegistry registry, string id, string directory, DecoderSpec spec)
    {
        DecoderModels.WriteGpt2DecoderDirectory(directory, spec);
        var files = new List<ArtifactSource>();
        foreach (var name in DecoderModels.DirectoryFiles) files.Add(ArtifactSource.FromFile(name, Path.Combine(directory, name)));
        return registry.RegisterAsync(new ModelDefinition { Id = id, Name = id }, files);
    }

    public async Task DisposeAsync()
    {
        await Provider.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>The generation engine on a small generated decoder: results, streaming, batching, the cache, errors.</summary>
public sealed class GenerationTests(DecoderHost host) : IClassFixture<DecoderHost>
{
    private static readonly string[] Prompts =
    [
        "The quick brown fox",
        "Once upon a time, in a land far away, there lived a",
        "Hello",
        "Four score and seven years ago our fathers brought forth on this continent",
        "日本語のテキスト and some émojis 🚀",
        "1, 2, 3, 4,",
    ];

    private static TextGenerationRequest Greedy(string prompt, int maxTokens = 12) =>
        new() { ModelId = DecoderHost.Id, Prompt = prompt, MaxTokens = maxTokens, Temperature = 0 };

    [Fact]
    public async Task Greedy_GeneratesMaxTokensWithUsage()
    {
        var result = await host.Generation.GenerateAsync(Greedy("The quick brown fox", 8));

        var choice = Assert.Single(result.Choices);
        Assert.Equal(DecoderHost.Id, result.ModelId);
        Assert.Equal(TextGenerationFinishReasons.Length, choice.FinishReason);
        Assert.Equal(8, choice.TokenIds.Count);
        Assert.Equal(4, result.Usage.PromptTokens); // The, quick, brown, fox
        Assert.Equal(8, result.Usage.CompletionTokens);
        Assert.Equal(12, result.Usage.TotalTokens);
        Assert.All(choice.TokenIds, id => Assert.InRange(id, 0, 50256));
    }

    [Fact]
    public async Task Streaming_UpdatesAddUpToTheResult()
    {
        var result = await host.Generation.GenerateAsync(Greedy("Once upon a time", 10));
        var text = new System.Text.StringBuilder();
        var ids = new List<int>();
        TextGenerationUsage? usage = null;
        string? finish = null;
        await foreach (var update in host.Generation.GenerateStreamingAsync(Greedy("Once upon a time", 10)))
        {
            Assert.Null(usage); // the usage update is the last one
            text.Append(update.Text);
            ids.AddRange(update.TokenIds);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(result.Choices[0].Text, text.ToString());
        Assert.Equal(result.Choices[0].TokenIds, ids);
        Assert.Equal(TextGenerationFinishReasons.Length, finish);
        Assert.Equal(result.Usage, usage);
    }

    [Fact]
    public async Task KvCache_GivesTheSameTokensAsRecomputing()
    {
        using var recompute = host.CreateService(o => o.UseKvCache = false);
        foreach (var prompt in Prompts)
        {
            var cached = await host.Generation.GenerateAsync(Greedy(prompt, 16));
            var full = await recompute.GenerateAsync(Greedy(prompt, 16));
            Assert.Equal(full.Choices[0].TokenIds, cached.Choices[0].TokenIds);
        }
    }

    [Fact]
    public async Task Greedy_IsTheSameAloneAndInsideABatch()
    {
        var alone = new List<IReadOnlyList<int>>();
        foreach (var prompt in Prompts) alone.Add((await host.Generation.GenerateAsync(Greedy(prompt, 20))).Choices[0].TokenIds);

        // All at once, with different prompt lengths: they share steps, and join and leave at different times.
        var together = await Task.WhenAll(Prompts.Select((p, i) => host.Generation.GenerateAsync(Greedy(p, 20 - i))));
        for (var i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(alone[i].Take(20 - i), together[i].Choices[0].TokenIds);
        }
    }

    [Fact]
    public async Task LateJoiners_DoNotChangeRunningSequences()
    {
        var first = Greedy(Prompts[1], 40);
        var expected = (await host.Generation.GenerateAsync(first)).Choices[0].TokenIds;
        var ids = new List<int>();
        var others = new List<Task<TextGenerationResult>>();
        await foreach (var update in host.Generation.GenerateStreamingAsync(first))
        {
            ids.AddRange(update.TokenIds);
            if (ids.Count is 5 or 15 or 25) others.Add(host.Generation.GenerateAsync(Greedy(Prompts[ids.Count / 10], 6)));
        }

        Assert.Equal(expected, ids);
        foreach (var other in await Task.WhenAll(others)) Assert.Equal(6, other.Choices[0].TokenIds.Count);
    }

    [Fact]
    public async Task Seed_GivesTheSameSampleEveryTime()
    {
        var request = new TextGenerationRequest { ModelId = DecoderHost.Id, Prompt = "Hello", MaxTokens = 12, Temperature = 1f, Seed = 42, N = 2 };
        var a = await host.Generation.GenerateAsync(request);
        var b = await host.Generation.GenerateAsync(request);

        Assert.Equal(2, a.Choices.Count);
        Assert.Equal(a.Choices[0].TokenIds, b.Choices[0].TokenIds);
        Assert.Equal(a.Choices[1].TokenIds, b.Choices[1].TokenIds);
        Assert.Equal(24, a.Usage.CompletionTokens);
        Assert.Equal(1, a.Usage.PromptTokens);
    }

    [Fact]
    public async Task Chat_RendersTheTemplateAndCountsItsTokens()
    {
        var result = await host.Generation.GenerateAsync(new TextGenerationRequest
        {
            ModelId = DecoderHost.Id,
            Messages = [new("system", "You are terse."), new("user", "Hi")],
            MaxTokens = 4,
            Temperature = 0,
        });

        // "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n" as GPT-2 text.
        Assert.True(result.Usage.PromptTokens > 20, $"prompt tokens: {result.Usage.PromptTokens}");
        var info = await host.Generation.DescribeAsync(DecoderHost.Id);
        Assert.Equal("chatml", info.ChatTemplate);
        Assert.Equal(256, info.ContextLength);
        Assert.Equal([50256], info.EosTokenIds);
        Assert.True(info.KvCache);
    }

    [Fact]
    public async Task CancellingTheStream_StopsTheGenerationWithinAStep()
    {
        using var service = host.CreateService(_ => { });
        using var cts = new CancellationTokenSource();
        var seen = 0;
        long atCancel = 0;
        GenerationEngine? engine = null;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in service.GenerateStreamingAsync(Greedy("Hello", 200), cts.Token))
            {
                if (++seen < 3) continue;
                engine = service.EngineFor(DecoderHost.Id);
                await cts.CancelAsync();
                atCancel = engine.GeneratedTokens;
            }
        });

        // The step running when the caller left may finish; the sequence is dropped at the next step boundary.
        for (var i = 0; i < 200 && !engine!.IsIdle; i++) await Task.Delay(10);
        Assert.True(engine!.IsIdle);
        Assert.InRange(engine.GeneratedTokens, atCancel, atCancel + 1);
        Assert.True(engine.GeneratedTokens < 200);
        Assert.Equal(3, (await service.GenerateAsync(Greedy("Hello", 3))).Choices[0].TokenIds.Count);
    }

    [Fact]
    public async Task Metrics_CountTokensAndTimeToFirstToken()
    {
        var meters = host.Provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var tokens = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(
            meters, ModelKit.Diagnostics.ModelKitTelemetry.Name, ModelKit.Diagnostics.ModelKitTelemetry.GenerationTokens);
        using var ttft = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<double>(
            meters, ModelKit.Diagnostics.ModelKitTelemetry.Name, ModelKit.Diagnostics.ModelKitTelemetry.TimeToFirstToken);

        await host.Generation.GenerateAsync(Greedy("The quick brown fox", 5));

        long Sum(string type) => tokens.GetMeasurementSnapshot()
            .Where(m => (string?)m.Tags[ModelKit.Diagnostics.ModelKitTelemetry.TokenTypeTag] == type && (string?)m.Tags[ModelKit.Diagnostics.ModelKitTelemetry.ModelTag] == DecoderHost.Id)
            .Sum(m => m.Value);
        Assert.Equal(4, Sum("prompt"));
        Assert.Equal(5, Sum("completion"));
        Assert.Contains(ttft.GetMeasurementSnapshot(), m => m.Value > 0);
    }

    [Fact]
    public async Task DeploymentLimits_NarrowTheContextAndTheKvBudget()
    {
        var registry = host.Provider.GetRequiredService<IModelRegistry>();
        var deployments = host.Provider.GetRequiredService<ModelKit.Deployments.IDeploymentManager>();
        using var dir = new TempDirectory();
        await DecoderHost.RegisterDecoderAsync(registry, "tiny-gpt2-limited", dir.Combine("decoder"), host.Spec);
        await deployments.DeployAsync(new ModelKit.Deployments.DeploymentSpec
        {
            DeploymentId = "limited",
            ModelId = "tiny-gpt2-limited",
            Generation = new ModelKit.Deployments.GenerationLimits { MaxContextLength = 128, KvCacheBytes = 1 << 20 },
        });
        await deployments.WaitUntilRunningAsync("limited");

        Assert.Equal(128, (await host.Generation.DescribeAsync("tiny-gpt2-limited")).ContextLength);
        var tooLong = await Assert.ThrowsAsync<InvalidInputException>(() =>
            host.Generation.GenerateAsync(new TextGenerationRequest { ModelId = "tiny-gpt2-limited", Prompt = "Hello", MaxTokens = 200 }));
        Assert.Contains("context of 128 tokens", tooLong.Message);
        // 1 KiB a token: 1 MiB holds 4 sequences of 128 tokens twice, not 5.
        var tooMany = await Assert.ThrowsAsync<InvalidInputException>(() =>
            host.Generation.GenerateAsync(new TextGenerationRequest { ModelId = "tiny-gpt2-limited", Prompt = "Hello", MaxTokens = 127, N = 5, Temperature = 0 }));
        Assert.Contains("KV cache", tooMany.Message);
        var result = await host.Generation.GenerateAsync(new TextGenerationRequest { ModelId = "tiny-gpt2-limited", Prompt = "Hello", Temperature = 0 });
        Assert.Equal(127, result.Usage.CompletionTokens); // no max_tokens: up to the deployment's context
        Assert.Equal(128, deployments.GetDeployment("limited").Generation?.MaxContextLength);
        await deployments.DeleteAsync("limited");
    }

    [Fact]
    public async Task NotADecoder_IsUnsupported()
    {
        var error = await Assert.ThrowsAsync<UnsupportedTaskException>(() =>
            host.Generation.GenerateAsync(new TextGenerationRequest { ModelId = "mlp", Prompt = "Hi" }));
        Assert.Contains("not a text decoder", error.Message);
    }

    [Fact]
    public async Task PromptLongerThanTheContext_IsRefused()
    {
        var error = await Assert.ThrowsAsync<InvalidInputException>(() =>
            host.Generation.GenerateAsync(Greedy(string.Join(' ', Enumerable.Repeat("word", 300)), 1)));
        Assert.Contains("context of 256 tokens", error.Message);
    }

    [Fact]
    public async Task PromptOfMoreCharactersThanTheContextCanHold_IsRefusedBeforeTokenizing()
    {
        // 256 tokens × 32 characters: one more character, without a space, is refused at once (tokenizing one long word
        // costs the square of its length).
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => host.Generation.GenerateAsync(Greedy(new string('a', (256 * 32) + 1), 1)));
        Assert.Contains("8193 characters", error.Message);
        Assert.Contains("at most 8192 characters", error.Message);
    }

    [Fact]
    public async Task MaxTokensBeyondTheContext_IsRefused()
    {
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => host.Generation.GenerateAsync(Greedy("Hello", 300)));
        Assert.Contains("at most 255 tokens can be generated", error.Message);
    }

    [Fact]
    public async Task UnknownTokenId_IsRefused()
    {
        var error = await Assert.ThrowsAsync<InvalidInputException>(() =>
            host.Generation.GenerateAsync(new TextGenerationRequest { ModelId = DecoderHost.Id, PromptTokenIds = [464, 60000], MaxTokens = 2 }));
        Assert.Contains("60000", error.Message);
    }

    [Fact]
    public async Task RequestBeyondTheKvBudget_IsRefused()
    {
        // 2 layers × 2 (key, value) × 4 heads × 16 values × 4 bytes = 1 KiB per token; 1 MiB holds 1024 tokens, twice 512.
        using var small = host.CreateService(o => o.KvCacheBytes = 1 << 20);
        var error = await Assert.ThrowsAsync<InvalidInputException>(() =>
            small.GenerateAsync(new TextGenerationRequest { ModelId = DecoderHost.Id, Prompt = "Hello", MaxTokens = 200, N = 3 }));
        Assert.Contains("KV cache", error.Message);
        var fits = await small.GenerateAsync(new TextGenerationRequest { ModelId = DecoderHost.Id, Prompt = "Hello", MaxTokens = 100, N = 2, Temperature = 0 });
        Assert.Equal(2, fits.Choices.Count);
    }

    [Fact]
    public async Task ManyConcurrentRequests_AreAllServedUnderASmallBudget()
    {
        // Room for two sequences of 64 tokens at a time: the others wait for a place and are admitted as rows leave.
        using var small = host.CreateService(o =>
        {
            o.KvCacheBytes = 2L * 2 * 64 * 1024;
            o.MaxBatchSequences = 4;
        });
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            small.GenerateAsync(new TextGenerationRequest { ModelId = DecoderHost.Id, Prompt = Prompts[i % Prompts.Length], MaxTokens = 40, Temperature = 0 })));
        for (var i = 0; i < results.Length; i++)
        {
            var alone = await host.Generation.GenerateAsync(Greedy(Prompts[i % Prompts.Length], 40));
            Assert.Equal(alone.Choices[0].TokenIds, results[i].Choices[0].TokenIds);
        }
    }
}

/// <summary>A host with the reciting decoder (an n-gram model of the Gettysburg Address: greedy decoding recites it).</summary>
public sealed class RecitingHost : IAsyncLifetime
{
    public const string Id = "gettysburg";
    private readonly TempDirectory _dir = new();

    public ServiceProvider Provider { get; private set; } = null!;

    public ITextGenerationService Generation => Provider.GetRequiredService<ITextGenerationService>();

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection().AddLogging().AddMetrics();
        services.AddModelKit(o => o.DataDirectory = _dir.Combine("data")).AddOnnxRuntime(o => o.IntraOpThreads = 2);
        Provider = services.BuildServiceProvider();
        var folder = _dir.Combine("decoder");
        DecoderModels.WriteRecitingDecoderDirectory(folder);
        var files = new List<ArtifactSource>();
        foreach (var name in DecoderModels.DirectoryFiles) files.Add(ArtifactSource.FromFile(name, Path.Combine(folder, name)));
        await Provider.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = Id, Name = Id }, files);
    }

    public async Task DisposeAsync()
    {
        await Provider.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>Text-level behaviour on a decoder whose output is known: end of text, stop sequences, log-probabilities, chat.</summary>
public sealed class RecitingGenerationTests(RecitingHost host) : IClassFixture<RecitingHost>
{
    private static string Address => DecoderModels.GettysburgAddress;

    [Fact]
    public async Task Greedy_RecitesTheTextAndStopsAtEndOfText()
    {
        var result = await host.Generation.GenerateAsync(new TextGenerationRequest { ModelId = RecitingHost.Id, Prompt = "Four score and seven years", Temperature = 0 });

        var choice = Assert.Single(result.Choices);
        Assert.Equal(Address["Four score and seven years".Length..], choice.Text);
        Assert.Equal(TextGenerationFinishReasons.Stop, choice.FinishReason);
        Assert.Equal(choice.TokenIds.Count + 1, result.Usage.CompletionTokens); // the end-of-text token counts, but is not text
    }

    [Fact]
    public async Task StopSequence_SpanningTokens_EndsTheChoiceBeforeIt()
    {
        var result = await host.Generation.GenerateAsync(new TextGenerationRequest
        {
            ModelId = RecitingHost.Id, Prompt = "Four score", Temperature = 0, MaxTokens = 50, Stop = ["seven years", "xyz"],
        });

        Assert.Equal(" and ", result.Choices[0].Text);
        Assert.Equal(TextGenerationFinishReasons.Stop, result.Choices[0].FinishReason);
        Assert.Equal(2, result.Choices[0].TokenIds.Count); // " and", " seven"; " years" only completed the stop text, so it is left out
    }

    [Fact]
    public async Task Streaming_WithAStop_NeverSendsPartOfIt()
    {
        var text = new System.Text.StringBuilder();
        await foreach (var update in host.Generation.GenerateStreamingAsync(new TextGenerationRequest
        {
            ModelId = RecitingHost.Id, Prompt = "Four score", Temperature = 0, MaxTokens = 50, Stop = ["ago our fathers"],
        }))
        {
            text.Append(update.Text);
        }

        Assert.Equal(" and seven years ", text.ToString());
    }

    [Fact]
    public async Task LogProbs_AreThoseOfTheModel()
    {
        var result = await host.Generation.GenerateAsync(new TextGenerationRequest
        {
            ModelId = RecitingHost.Id, Prompt = "Four score", Temperature = 0, MaxTokens = 3, LogProbs = true, TopLogProbs = 2,
        });

        var logProbs = result.Choices[0].LogProbs!;
        Assert.Equal(3, logProbs.Count);
        Assert.Equal(" and", logProbs[0].Token);
        Assert.Equal(" and"u8.ToArray(), logProbs[0].Bytes);
        Assert.All(logProbs, lp => Assert.InRange(lp.LogProb, -0.01f, 0f)); // the reciter is sure of each next word
        Assert.All(logProbs, lp => Assert.Equal(2, lp.TopLogProbs!.Count));
        Assert.All(logProbs, lp => Assert.Equal(lp.TokenId, lp.TopLogProbs![0].TokenId));
    }

    [Fact]
    public async Task Sampling_WithTemperature_StillRecites()
    {
        // The reciter gives its next token a probability above 0.999, so a seeded sample recites too.
        var result = await host.Generation.GenerateAsync(new TextGenerationRequest
        {
            ModelId = RecitingHost.Id, Prompt = "Four score", Temperature = 0.7f, TopP = 0.95f, Seed = 7, MaxTokens = 8,
        });

        Assert.StartsWith(" and seven years ago", result.Choices[0].Text);
    }

    [Fact]
    public async Task Chat_AnswersWithTheAddress()
    {
        var result = await host.Generation.GenerateAsync(new TextGenerationRequest
        {
            ModelId = RecitingHost.Id, Messages = [new("user", "Recite something.")], Temperature = 0, MaxTokens = 12,
        });

        Assert.Contains("Now we are engaged in a great civil war", result.Choices[0].Text); // after a new line, the reciter goes on from the second paragraph
    }
}

/// <summary>The benchmark-sized decoder: 6 layers, hidden 512, 8 heads, GPT-2's vocabulary (about 45M parameters).</summary>
public sealed class BenchmarkDecoderHost() : DecoderHost(new DecoderSpec { Layers = 6, Hidden = 512, Heads = 8, MaxPositions = 1024 });

/// <summary>The engine's two equivalences on a decoder big enough that its numbers are not toy-sized.</summary>
public sealed class BenchmarkDecoderGenerationTests(BenchmarkDecoderHost host) : IClassFixture<BenchmarkDecoderHost>
{
    private static readonly string[] Prompts =
    [
        "The quick brown fox jumps over the lazy dog, and then",
        "In the beginning",
        "Machine learning models are served",
        "A",
    ];

    private static TextGenerationRequest Greedy(string prompt) =>
        new() { ModelId = DecoderHost.Id, Prompt = prompt, MaxTokens = 12, Temperature = 0 };

    [Fact]
    public async Task KvCache_GivesTheSameTokensAsRecomputing()
    {
        using var recompute = host.CreateService(o => o.UseKvCache = false);
        foreach (var prompt in Prompts)
        {
            var cached = await host.Generation.GenerateAsync(Greedy(prompt));
            var full = await recompute.GenerateAsync(Greedy(prompt));
            Assert.Equal(full.Choices[0].TokenIds, cached.Choices[0].TokenIds);
        }
    }

    [Fact]
    public async Task Greedy_IsTheSameAloneAndInsideABatch()
    {
        var alone = new List<IReadOnlyList<int>>();
        foreach (var prompt in Prompts) alone.Add((await host.Generation.GenerateAsync(Greedy(prompt))).Choices[0].TokenIds);
        var together = await Task.WhenAll(Prompts.Select(p => host.Generation.GenerateAsync(Greedy(p))));
        for (var i = 0; i < Prompts.Length; i++) Assert.Equal(alone[i], together[i].Choices[0].TokenIds);
    }
}
