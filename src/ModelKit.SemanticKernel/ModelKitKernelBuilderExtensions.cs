using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel.ChatCompletion;
using ModelKit;
using ModelKit.Onnx.Text;
using ModelKit.Onnx.Text.Generation;
using ModelKit.SemanticKernel;
using SKTextGenerationService = Microsoft.SemanticKernel.TextGeneration.ITextGenerationService;

namespace Microsoft.SemanticKernel;

/// <summary>Adds ModelKit's local text encoders and decoders to a Semantic Kernel <see cref="IKernelBuilder"/>.</summary>
public static class ModelKitKernelBuilderExtensions
{
    /// <summary>
    /// Registers ModelKit's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of strings over model
    /// <paramref name="modelId"/> as the kernel's embedding generator, under <paramref name="serviceId"/> (none: the
    /// default generator). ModelKit (<c>AddModelKit().AddOnnxRuntime()</c>) is added to the kernel's services unless it
    /// is there already; calling <c>kernelBuilder.Services.AddModelKit(...)</c> first configures it in full. Nothing is
    /// loaded here: the model, registered in ModelKit's registry now or later, loads on the first call.
    /// </summary>
    /// <param name="builder">The kernel builder.</param>
    /// <param name="modelId">The ModelKit model id of a text encoder (a model with a tokenizer), e.g. <c>all-MiniLM-L6-v2</c>.</param>
    /// <param name="configureModelKit">Configures ModelKit's options (its data directory above all); applied after any earlier configuration.</param>
    /// <param name="version">The model version to use; null: the version the registry resolves on each call.</param>
    /// <param name="serviceId">
    /// The kernel service id (the generator's key in the kernel's services), as Semantic Kernel's connectors take it;
    /// null registers the kernel's default generator, replacing one registered before, as those connectors do.
    /// </param>
    /// <returns>The same <paramref name="builder"/>.</returns>
    /// <example><code>var kernel = Kernel.CreateBuilder()
    ///     .AddModelKitEmbeddingGenerator("all-MiniLM-L6-v2", o => o.DataDirectory = "./modelkit-data")
    ///     .Build();
    /// var generator = kernel.GetRequiredService&lt;IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;&gt;();</code></example>
    public static IKernelBuilder AddModelKitEmbeddingGenerator(
        this IKernelBuilder builder,
        string modelId,
        Action<ModelKitOptions>? configureModelKit = null,
        string? version = null,
        string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        // AddModelKit and AddOnnxRuntime register with TryAdd: over a ModelKit already in the services they only add
        // the configuration callback.
        builder.Services.AddModelKit(configureModelKit).AddOnnxRuntime();
        // Semantic Kernel's connectors add (not try-add) their generator keyed by the service id, so the last one
        // registered is the kernel's default; this one behaves the same way beside them.
        builder.Services.AddKeyedSingleton<IEmbeddingGenerator<string, Embedding<float>>>(
            serviceId, (sp, _) => sp.GetRequiredService<ModelKitEmbeddingGenerators>().Create(modelId, version));
        return builder;
    }

    /// <summary>
    /// Registers ModelKit's chat client over the decoder <paramref name="modelId"/> as the kernel's chat completion
    /// service: an <see cref="IChatClient"/> (<see cref="ModelKitChatClient"/>) and, over it, an
    /// <see cref="IChatCompletionService"/> made by Semantic Kernel's own adapter
    /// (<see cref="Microsoft.SemanticKernel.ChatCompletion.ChatClientExtensions.AsChatCompletionService(IChatClient, IServiceProvider?)"/>), both under <paramref name="serviceId"/> (none: the
    /// default ones). ModelKit is added as in <see cref="AddModelKitEmbeddingGenerator"/>; nothing is loaded here.
    /// </summary>
    /// <param name="builder">The kernel builder.</param>
    /// <param name="modelId">The ModelKit model id of a decoder registered with its tokenizer files.</param>
    /// <param name="configureModelKit">Configures ModelKit's options (its data directory above all); applied after any earlier configuration.</param>
    /// <param name="version">The model version to use; null: the version resolved on each call.</param>
    /// <param name="serviceId">The kernel service id; null registers the kernel's default services, replacing ones registered before.</param>
    /// <returns>The same <paramref name="builder"/>.</returns>
    /// <example><code>var kernel = Kernel.CreateBuilder()
    ///     .AddModelKitChatCompletion("qwen2.5-0.5b-instruct", o => o.DataDirectory = "./modelkit-data")
    ///     .Build();
    /// var chat = kernel.GetRequiredService&lt;IChatCompletionService&gt;();
    /// var history = new ChatHistory("You are terse.");
    /// history.AddUserMessage("Why is the sky blue?");
    /// await foreach (var token in chat.GetStreamingChatMessageContentsAsync(history)) Console.Write(token.Content);</code></example>
    public static IKernelBuilder AddModelKitChatCompletion(
        this IKernelBuilder builder,
        string modelId,
        Action<ModelKitOptions>? configureModelKit = null,
        string? version = null,
        string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        builder.Services.AddModelKit(configureModelKit).AddOnnxRuntime();
        // Added (not try-added) under the service id, as Semantic Kernel's connectors do: the last one is the default.
        builder.Services.AddKeyedSingleton<IChatClient>(
            serviceId, (sp, _) => sp.GetRequiredService<ModelKitChatClients>().Create(modelId, version));
        builder.Services.AddKeyedSingleton<IChatCompletionService>(
            serviceId, (sp, key) => sp.GetRequiredKeyedService<IChatClient>(key).AsChatCompletionService(sp));
        return builder;
    }

    /// <summary>
    /// Registers Semantic Kernel's text generation service (<c>Microsoft.SemanticKernel.TextGeneration.ITextGenerationService</c>)
    /// over the decoder <paramref name="modelId"/>: the prompt is continued as is, without the chat template, with
    /// streaming; execution settings are read as for chat completion. Registered under <paramref name="serviceId"/>
    /// (none: the default one). ModelKit is added as in <see cref="AddModelKitEmbeddingGenerator"/>; nothing is loaded here.
    /// </summary>
    /// <param name="builder">The kernel builder.</param>
    /// <param name="modelId">The ModelKit model id of a decoder registered with its tokenizer files.</param>
    /// <param name="configureModelKit">Configures ModelKit's options; applied after any earlier configuration.</param>
    /// <param name="version">The model version to use; null: the version resolved on each call.</param>
    /// <param name="serviceId">The kernel service id; null registers the kernel's default service, replacing one registered before.</param>
    /// <returns>The same <paramref name="builder"/>.</returns>
    public static IKernelBuilder AddModelKitTextGeneration(
        this IKernelBuilder builder,
        string modelId,
        Action<ModelKitOptions>? configureModelKit = null,
        string? version = null,
        string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        builder.Services.AddModelKit(configureModelKit).AddOnnxRuntime();
        builder.Services.AddKeyedSingleton<SKTextGenerationService>(
            serviceId, (sp, _) => new ModelKitTextGenerationService(sp.GetRequiredService<ModelKitChatClients>().Create(modelId, version)));
        return builder;
    }
}
