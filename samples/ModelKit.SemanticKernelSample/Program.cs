// The Semantic Kernel sample: builds a Kernel whose embedding generator is ModelKit's all-MiniLM-L6-v2 (data
// directory: argument 0, default ./modelkit-data; the model is registered on first start), embeds a few short
// documents and a query, and ranks the documents by cosine similarity to the query.
using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel;
using ModelKit.ModelGenerator;
using ModelKit.Registry;

const string ModelId = "all-MiniLM-L6-v2";
const string Query = "How do I change my login password?";
string[] documents =
[
    "The cat slept on the warm windowsill all afternoon.",
    "Quarterly revenue grew by twelve percent compared with last year.",
    "To reset your password, open Settings and choose Security.",
    "The recipe needs two cups of flour, some sugar and three eggs.",
    "Our train to Paris leaves from platform four at noon.",
    "The football team won the championship after extra time.",
];

var dataDirectory = args.Length > 0 ? args[0] : Path.Combine(Environment.CurrentDirectory, "modelkit-data");
var builder = Kernel.CreateBuilder();
builder.Services.AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
builder.AddModelKitEmbeddingGenerator(ModelId, o => o.DataDirectory = dataDirectory);
var kernel = builder.Build();
try
{
    await EnsureMiniLmAsync(kernel.GetRequiredService<IModelRegistry>());

    var generator = kernel.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
    var documentEmbeddings = await generator.GenerateAsync(documents);
    var queryEmbedding = await generator.GenerateVectorAsync(Query);

    var ranking = new List<(float Score, string Document)>(documents.Length);
    for (var i = 0; i < documents.Length; i++)
    {
        ranking.Add((TensorPrimitives.CosineSimilarity(queryEmbedding.Span, documentEmbeddings[i].Vector.Span), documents[i]));
    }

    ranking.Sort((a, b) => b.Score.CompareTo(a.Score));
    Console.WriteLine($"query: {Query}");
    for (var i = 0; i < ranking.Count; i++) Console.WriteLine($"{i + 1}. {ranking[i].Score,6:F3}  {ranking[i].Document}");
}
finally
{
    // A Kernel does not dispose the services it was built with; ModelKit's cache holds the loaded ONNX sessions.
    if (kernel.Services is IAsyncDisposable services) await services.DisposeAsync();
}

// Registers all-MiniLM-L6-v2 (model.onnx, vocab.txt and its sentence-transformers configuration, one model of several
// files) unless the data directory has it from an earlier run.
static async Task EnsureMiniLmAsync(IModelRegistry registry)
{
    if (await PretrainedModels.EnsureMiniLmAsync(registry, new ModelDefinition { Id = ModelId, Name = "all-MiniLM-L6-v2", Task = "feature-extraction" }))
    {
        Console.WriteLine($"registered {ModelId} from {PretrainedModels.MiniLmDirectory}");
    }
}
