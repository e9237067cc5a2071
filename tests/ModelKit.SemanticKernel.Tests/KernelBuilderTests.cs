using ModelKit.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel;
using ModelKit.Onnx.Text;
using ModelKit.Registry;
using ModelKit.Tests.Text;

namespace ModelKit.Tests;

/// <summary>One kernel with ModelKit's generator over the real all-MiniLM-L6-v2, shared by the tests.</summary>
public sealed class MiniLmKernel : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();

    public Kernel Kernel { get; private set; } = null!;

    public string DataDirectory => _dir.Path;

    public async Task InitializeAsync()
    {
        Kernel = Kernel.CreateBuilder()
            .AddModelKitEmbeddingGenerator(MiniLm.Id, o => o.DataDirectory = _dir.Path)
            .Build();
        await MiniLm.RegisterAsync(Kernel.GetRequiredService<IModelRegistry>());
    }

    public async Task DisposeAsync()
    {
        if (Kernel.Services is IAsyncDisposable services) await services.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary><see cref="ModelKitKernelBuilderExtensions.AddModelKitEmbeddingGenerator"/> through a real Kernel and the real model.</summary>
public sealed class KernelBuilderTests(MiniLmKernel host) : IClassFixture<MiniLmKernel>
{
    [Fact]
    public async Task AddModelKitEmbeddingGenerator_KernelGenerator_GivesMiniLmsPublishedSimilarity()
    {
        var generator = host.Kernel.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();

        var embeddings = await generator.GenerateAsync(["A man is eating food.", "A man is eating a piece of bread."]);

        Assert.Equal(2, embeddings.Count);
        Assert.Equal(384, embeddings[0].Vector.Length);
        Assert.Equal(0.755, MiniLm.Cosine(embeddings[0].Vector.ToArray(), embeddings[1].Vector.ToArray()), 0.005);
        Assert.Equal(MiniLm.Id, embeddings[0].ModelId);
    }

    [Fact]
    public async Task AddModelKitEmbeddingGenerator_KernelGenerator_IsModelKits()
    {
        var generator = host.Kernel.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();

        Assert.IsType<ModelKitEmbeddingGenerator>(generator);
        await generator.GenerateAsync(["x"]);
        var metadata = generator.GetService<EmbeddingGeneratorMetadata>();
        Assert.NotNull(metadata);
        Assert.Equal("modelkit", metadata.ProviderName);
        Assert.Equal(MiniLm.Id, metadata.DefaultModelId);
        Assert.Equal(384, metadata.DefaultModelDimensions);
        Assert.Same(host.Kernel.GetRequiredService<ITextEmbeddingService>(), generator.GetService<ITextEmbeddingService>());
        Assert.Equal(host.DataDirectory, host.Kernel.GetRequiredService<IOptions<ModelKitOptions>>().Value.DataDirectory);
    }

    [Fact]
    public void AddModelKitEmbeddingGenerator_WithServiceId_IsKeyedAndLeavesTheDefaultAlone()
    {
        using var dir = new TempDirectory();
        var other = new FixedGenerator();
        var builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(other);
        builder.AddModelKitEmbeddingGenerator("minilm", o => o.DataDirectory = dir.Path, serviceId: "local");
        var kernel = builder.Build();

        Assert.Same(other, kernel.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
        var keyed = Assert.IsType<ModelKitEmbeddingGenerator>(kernel.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>("local"));
        Assert.Equal("minilm", keyed.ModelId);
    }

    [Fact]
    public void AddModelKitEmbeddingGenerator_OverAModelKitAlreadyAdded_UsesIt_AndBecomesTheDefault()
    {
        using var dir = new TempDirectory();
        var builder = Kernel.CreateBuilder();
        builder.Services.AddModelKit(o => o.DataDirectory = dir.Path).AddOnnxRuntime(o => o.IntraOpThreads = 1);
        builder.Services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(new FixedGenerator());
        builder.AddModelKitEmbeddingGenerator("first").AddModelKitEmbeddingGenerator("second");
        var kernel = builder.Build();

        // Semantic Kernel's rule: the generator registered last without a service id is the kernel's default.
        var generator = Assert.IsType<ModelKitEmbeddingGenerator>(kernel.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.Equal("second", generator.ModelId);
        Assert.Equal(dir.Path, kernel.GetRequiredService<IOptions<ModelKitOptions>>().Value.DataDirectory);
        Assert.Single(kernel.Services.GetServices<ModelKit.Backends.IInferenceBackend>());
        Assert.Single(kernel.Services.GetServices<IModelRegistry>());
    }

    [Fact]
    public async Task AddModelKitEmbeddingGenerator_OnAHostsKernel_RegistersInTheHostsServices()
    {
        using var dir = new TempDirectory();
        var services = new ServiceCollection();
        services.AddKernel().AddModelKitEmbeddingGenerator("minilm", o => o.DataDirectory = dir.Path);
        await using var provider = services.BuildServiceProvider();

        var kernel = provider.GetRequiredService<Kernel>();
        var generator = Assert.IsType<ModelKitEmbeddingGenerator>(kernel.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.Same(generator, provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.Equal(dir.Path, provider.GetRequiredService<IOptions<ModelKitOptions>>().Value.DataDirectory);
    }

    [Fact]
    public void AddModelKitEmbeddingGenerator_RefusesAnEmptyModelId()
    {
        Assert.Throws<ArgumentException>(() => Kernel.CreateBuilder().AddModelKitEmbeddingGenerator(""));
        Assert.Throws<ArgumentNullException>(() => ((IKernelBuilder)null!).AddModelKitEmbeddingGenerator("m"));
    }

    private sealed class FixedGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new GeneratedEmbeddings<Embedding<float>>([.. values.Select(_ => new Embedding<float>(new float[] { 1 }))]));

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }
    }
}
