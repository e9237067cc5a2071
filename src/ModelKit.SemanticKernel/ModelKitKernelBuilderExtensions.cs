using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using ModelKit;
using ModelKit.Onnx.Text;

namespace Microsoft.SemanticKernel;

/// <summary>Adds ModelKit's local text encoders to a Semantic Kernel <see cref="IKernelBuilder"/>.</summary>
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
}
