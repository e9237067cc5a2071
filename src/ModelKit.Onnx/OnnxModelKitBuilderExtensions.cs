using ModelKit.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelKit.Backends;
using ModelKit.Onnx;
using ModelKit.Onnx.Text;
using ModelKit.Onnx.Text.Generation;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the ONNX Runtime backend and the text pipelines to ModelKit.</summary>
public static class OnnxModelKitBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="OnnxBackend"/> for framework <c>onnx</c>, the text embedding service
    /// (<see cref="ITextEmbeddingService"/>, and <see cref="ModelKitEmbeddingGenerators"/> for generators over models
    /// registered at run time) and the text generation service (<see cref="ITextGenerationService"/>, and
    /// <see cref="ModelKitChatClients"/> for chat clients over models registered at run time). Calling it twice is harmless.
    /// </summary>
    public static IModelKitBuilder AddOnnxRuntime(this IModelKitBuilder builder, Action<OnnxRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<OnnxRuntimeOptions>();
        if (configure is not null) builder.Services.Configure(configure);
        builder.Services.TryAddSingleton<OnnxBackend>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IInferenceBackend, OnnxBackend>(sp => sp.GetRequiredService<OnnxBackend>()));
        builder.Services.AddOptions<TextEmbeddingOptions>().Validate(o => o.MaxInputs is >= 1 and <= 1_000_000 && o.MaxChunkRows is >= 1 and <= 65536 && o.MaxChunkTokens >= 1 && o.MaxChunksInFlight is >= 1 and <= 1024 && o.MaxTextLength >= 1,
            "ModelKit:Embeddings: MaxInputs must be 1..1000000, MaxChunkRows 1..65536, MaxChunksInFlight 1..1024, MaxChunkTokens and MaxTextLength at least 1.").ValidateOnStart();
        builder.Services.TryAddSingleton<ITextEmbeddingService, TextEmbeddingService>();
        builder.Services.TryAddSingleton<ModelKitEmbeddingGenerators>();
        builder.Services.AddOptions<TextGenerationOptions>().Validate(o => o.MaxBatchSequences is >= 1 and <= 4096 && o.KvCacheBytes >= 1 << 20 && o.MaxQueuedRequests >= 0
                && o.PrefillChunkTokens >= 1 && o.MaxChoices is >= 1 and <= 128 && o.DefaultTimeout > TimeSpan.Zero,
            "ModelKit:Generation: MaxBatchSequences must be 1..4096, KvCacheBytes at least 1 MiB, MaxQueuedRequests 0 or more, PrefillChunkTokens 1 or more, MaxChoices 1..128, DefaultTimeout positive.").ValidateOnStart();
        builder.Services.TryAddSingleton<TextGenerationService>();
        builder.Services.TryAddKeyedSingleton<ITextGenerationService>(TextGenerationServiceKeys.Local, static (sp, _) => sp.GetRequiredService<TextGenerationService>());
        builder.Services.TryAddSingleton<ITextGenerationService>(static sp => sp.GetRequiredService<TextGenerationService>());
        builder.Services.TryAddSingleton<ModelKitChatClients>();
        return builder;
    }

    /// <summary>
    /// Binds the text embedding limits (<see cref="TextEmbeddingOptions"/>) from <paramref name="configuration"/>, the host's
    /// <c>ModelKit:Embeddings</c> section; validated when the host starts.
    /// </summary>
    public static IModelKitBuilder ConfigureTextEmbeddings(this IModelKitBuilder builder, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<TextEmbeddingOptions>().Bind(configuration);
        return builder;
    }

    /// <summary>Configures the text embedding limits (<see cref="TextEmbeddingOptions"/>).</summary>
    public static IModelKitBuilder ConfigureTextEmbeddings(this IModelKitBuilder builder, Action<TextEmbeddingOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Registers an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of strings over model <paramref name="modelId"/>,
    /// keyed by the model id; the first one registered is also the unkeyed generator. Nothing is loaded here: the model
    /// (registered now or later) loads on first use. Requires <see cref="AddOnnxRuntime"/>.
    /// </summary>
    /// <example><code>services.AddModelKit().AddOnnxRuntime().AddEmbeddingGenerator("all-MiniLM-L6-v2");
    /// var generator = provider.GetRequiredKeyedService&lt;IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;&gt;("all-MiniLM-L6-v2");</code></example>
    public static IModelKitBuilder AddEmbeddingGenerator(this IModelKitBuilder builder, string modelId, string? version = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        builder.AddOnnxRuntime();
        builder.Services.TryAddKeyedSingleton<IEmbeddingGenerator<string, Embedding<float>>>(
            modelId, (sp, _) => sp.GetRequiredService<ModelKitEmbeddingGenerators>().Create(modelId, version));
        builder.Services.TryAddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(
            sp => sp.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>(modelId));
        return builder;
    }

    /// <summary>
    /// Binds the text generation limits (<see cref="TextGenerationOptions"/>) from <paramref name="configuration"/>, the host's
    /// <c>ModelKit:Generation</c> section; validated when the host starts.
    /// </summary>
    public static IModelKitBuilder ConfigureTextGeneration(this IModelKitBuilder builder, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<TextGenerationOptions>().Bind(configuration);
        return builder;
    }

    /// <summary>Configures the text generation limits (<see cref="TextGenerationOptions"/>).</summary>
    public static IModelKitBuilder ConfigureTextGeneration(this IModelKitBuilder builder, Action<TextGenerationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Registers an <see cref="IChatClient"/> over the decoder <paramref name="modelId"/> (<see cref="ModelKitChatClient"/>),
    /// keyed by the model id; the first one registered is also the unkeyed client. Nothing is loaded here: the model
    /// (registered now or later, with its tokenizer files) loads on first use. Requires <see cref="AddOnnxRuntime"/>.
    /// </summary>
    /// <example><code>services.AddModelKit().AddOnnxRuntime().AddChatClient("qwen2.5-0.5b-instruct");
    /// var client = provider.GetRequiredKeyedService&lt;IChatClient&gt;("qwen2.5-0.5b-instruct");
    /// var response = await client.GetResponseAsync("Why is the sky blue?");</code></example>
    public static IModelKitBuilder AddChatClient(this IModelKitBuilder builder, string modelId, string? version = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        builder.AddOnnxRuntime();
        builder.Services.TryAddKeyedSingleton<IChatClient>(
            modelId, (sp, _) => sp.GetRequiredService<ModelKitChatClients>().Create(modelId, version));
        builder.Services.TryAddSingleton<IChatClient>(sp => sp.GetRequiredKeyedService<IChatClient>(modelId));
        return builder;
    }
}
