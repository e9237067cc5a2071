// The chat sample: builds a Kernel whose chat completion service is ModelKit's, over a local decoder (data directory:
// argument 0, default ./modelkit-data; the decoder is written and registered on first start), and holds a two-turn
// conversation through a ChatHistory, printing the assistant's tokens as they are generated.
//
// The decoder is ModelKit's generated "reciting decoder": an n-gram model of the Gettysburg Address whose weights are
// set by hand, with GPT-2's tokenizer and a ChatML chat template. It is no assistant: whatever it is asked, greedy
// decoding recites the address from its first words. What the sample shows is the plumbing a real instruct model
// (Qwen, Phi, Llama exported to ONNX) would go through: the chat template, streaming, the KV cache, usage.
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using ModelKit.ModelGenerator;
using ModelKit.Registry;

const string ModelId = "gettysburg";
string[] questions = ["How does your address at Gettysburg begin?", "Say it again, please."];

var dataDirectory = args.Length > 0 ? args[0] : Path.Combine(Environment.CurrentDirectory, "modelkit-data");
var builder = Kernel.CreateBuilder();
builder.Services.AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
builder.AddModelKitChatCompletion(ModelId, o => o.DataDirectory = dataDirectory);
var kernel = builder.Build();
try
{
    await EnsureDecoderAsync(kernel.GetRequiredService<IModelRegistry>(), dataDirectory);

    var chat = kernel.GetRequiredService<IChatCompletionService>();
    // Greedy decoding, 30 tokens an answer; Semantic Kernel's names, mapped to Microsoft.Extensions.AI's ChatOptions.
    var settings = new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["temperature"] = 0, ["max_tokens"] = 30 } };
    var history = new ChatHistory("You are Abraham Lincoln.");
    foreach (var question in questions)
    {
        history.AddUserMessage(question);
        Console.WriteLine($"user: {question}");
        Console.Write("assistant: ");
        var answer = new StringBuilder();
        var updates = 0;
        UsageDetails? usage = null;
        await foreach (var update in chat.GetStreamingChatMessageContentsAsync(history, settings, kernel))
        {
            if (!string.IsNullOrEmpty(update.Content))
            {
                Console.Write(update.Content);
                await Console.Out.FlushAsync();
                answer.Append(update.Content);
                updates++;
            }

            // The last update carries the usage (Semantic Kernel's adapter puts it in the metadata).
            if (update.Metadata?.TryGetValue("Usage", out var value) == true && value is UsageContent content) usage = content.Details;
        }

        Console.WriteLine();
        Console.WriteLine($"({updates} streamed updates, {usage?.InputTokenCount} prompt tokens, {usage?.OutputTokenCount} completion tokens)");
        history.AddAssistantMessage(answer.ToString());
    }
}
finally
{
    // A Kernel does not dispose the services it was built with; ModelKit's cache holds the loaded ONNX session.
    if (kernel.Services is IAsyncDisposable services) await services.DisposeAsync();
}

// Writes the reciting decoder's folder (model.onnx, config.json, GPT-2's tokenizer, tokenizer_config.json with the
// chat template) and registers its files as one model version, unless the data directory has it from an earlier run.
static async Task EnsureDecoderAsync(IModelRegistry registry, string dataDirectory)
{
    if (await registry.FindModelAsync(ModelId) is not null) return;
    var folder = Path.Combine(dataDirectory, "reciting-decoder");
    // The address as one paragraph: a ChatML prompt ends with a line break, which the decoder would otherwise read as
    // the end of the first paragraph and go on from the second.
    DecoderModels.WriteRecitingDecoderDirectory(folder, DecoderModels.GettysburgAddress.Replace("\n\n", " ", StringComparison.Ordinal));
    try
    {
        var files = new List<ArtifactSource>();
        foreach (var name in DecoderModels.DirectoryFiles) files.Add(ArtifactSource.FromFile(name, Path.Combine(folder, name)));
        await registry.RegisterAsync(new ModelDefinition { Id = ModelId, Name = "Gettysburg Address reciter" }, files);
    }
    finally
    {
        Directory.Delete(folder, recursive: true); // the registry keeps its own copies
    }

    Console.WriteLine($"registered {ModelId}");
}
