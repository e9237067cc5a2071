using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Services;
using ModelKit.ModelGenerator;
using ModelKit.Onnx.Text.Generation;
using ModelKit.Registry;
using ModelKit.SemanticKernel;
using SKTextGenerationService = Microsoft.SemanticKernel.TextGeneration.ITextGenerationService;

namespace ModelKit.Tests;

/// <summary>
/// A kernel with ModelKit's chat completion and text generation over the reciting decoder (an n-gram model of the
/// Gettysburg Address, as one paragraph: greedy decoding recites it from any ChatML prompt, which ends with a line break).
/// </summary>
public sealed class RecitingKernel : IAsyncLifetime
{
    public const string Id = "gettysburg";

    public static readonly string Text = DecoderModels.GettysburgAddress.Replace("\n\n", " ", StringComparison.Ordinal);

    private readonly TempDirectory _dir = new();

    public Kernel Kernel { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Kernel = Kernel.CreateBuilder()
            .AddModelKitChatCompletion(Id, o => o.DataDirectory = _dir.Combine("data"))
            .AddModelKitTextGeneration(Id)
            .Build();
        var directory = DecoderModels.WriteRecitingDecoderDirectory(_dir.Combine("decoder"), Text);
        var files = new List<ArtifactSource>();
        foreach (var name in DecoderModels.DirectoryFiles) files.Add(ArtifactSource.FromFile(name, Path.Combine(directory, name)));
        await Kernel.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = Id, Name = "Gettysburg" }, files);
    }

    public async Task DisposeAsync()
    {
        if (Kernel.Services is IAsyncDisposable services) await services.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>
/// <see cref="ModelKitKernelBuilderExtensions.AddModelKitChatCompletion"/> and
/// <see cref="ModelKitKernelBuilderExtensions.AddModelKitTextGeneration"/> through a real Kernel and the real generation engine.
/// </summary>
public sealed class ChatCompletionTests(RecitingKernel host) : IClassFixture<RecitingKernel>
{
    private static PromptExecutionSettings Greedy(int maxTokens) =>
        new() { ExtensionData = new Dictionary<string, object> { ["temperature"] = 0, ["max_tokens"] = maxTokens } };

    private IChatCompletionService Chat => host.Kernel.GetRequiredService<IChatCompletionService>();

    private SKTextGenerationService TextGeneration => host.Kernel.GetRequiredService<SKTextGenerationService>();

    [Fact]
    public async Task ChatCompletion_GetChatMessageContent_Recites()
    {
        var history = new ChatHistory("You are Abraham Lincoln.");
        history.AddUserMessage("How does your speech at Gettysburg begin?");

        var reply = await Chat.GetChatMessageContentAsync(history, Greedy(6), host.Kernel);

        Assert.Equal(AuthorRole.Assistant, reply.Role);
        Assert.Equal("Four score and seven years ago", reply.Content);
        Assert.Equal(RecitingKernel.Id, reply.ModelId);
        Assert.Equal(RecitingKernel.Id, Chat.GetModelId());
    }

    [Fact]
    public async Task ChatCompletion_Streaming_EqualsTheWholeReply_AcrossTwoTurns()
    {
        var history = new ChatHistory("You are Abraham Lincoln.");
        history.AddUserMessage("How does your speech at Gettysburg begin?");
        var whole = await Chat.GetChatMessageContentAsync(history, Greedy(20), host.Kernel);

        var text = new StringBuilder();
        var updates = 0;
        await foreach (var update in Chat.GetStreamingChatMessageContentsAsync(history, Greedy(20), host.Kernel))
        {
            text.Append(update.Content);
            if (!string.IsNullOrEmpty(update.Content)) updates++;
        }

        Assert.Equal(whole.Content, text.ToString());
        Assert.True(updates > 5, $"{updates} updates with text");

        // A second turn: the history (with the first answer) is rendered again, longer, and the decoder recites again.
        history.AddAssistantMessage(text.ToString());
        history.AddUserMessage("Say it again.");
        var second = new StringBuilder();
        UsageDetails? usage = null;
        await foreach (var update in Chat.GetStreamingChatMessageContentsAsync(history, Greedy(20), host.Kernel))
        {
            second.Append(update.Content);
            // Semantic Kernel's adapter puts the final update's UsageContent in the metadata.
            if (update.Metadata?.TryGetValue("Usage", out var value) == true) usage = Assert.IsType<UsageContent>(value).Details;
        }

        Assert.Equal(whole.Content, second.ToString());
        Assert.NotNull(usage);
        Assert.Equal(20, usage.OutputTokenCount);
    }

    [Fact]
    public async Task ChatCompletion_WholeReply_CarriesModelKitsResult()
    {
        var history = new ChatHistory();
        history.AddUserMessage("Begin.");

        var reply = await Chat.GetChatMessageContentAsync(history, Greedy(3), host.Kernel);

        // Semantic Kernel's adapter hands the chat client's raw representation on as the inner content.
        var result = Assert.IsType<ModelKit.Text.TextGenerationResult>(reply.InnerContent);
        Assert.Equal(3, result.Usage.CompletionTokens);
        Assert.Equal("Four score and", reply.Content);
    }

    [Fact]
    public async Task ChatCompletion_FunctionChoiceBehavior_IsRefusedNamingTheFunctions()
    {
        var kernel = host.Kernel.Clone();
        kernel.Plugins.AddFromFunctions("weather", [KernelFunctionFactory.CreateFromMethod(() => "sunny", "get_weather")]);
        var history = new ChatHistory();
        history.AddUserMessage("What is the weather?");
        var settings = new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto() };

        var error = await Assert.ThrowsAsync<NotSupportedException>(() => Chat.GetChatMessageContentAsync(history, settings, kernel));

        Assert.Contains("get_weather", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatCompletion_InvokePromptAsync_GoesThroughModelKit()
    {
        var result = await host.Kernel.InvokePromptAsync("Recite the Gettysburg Address.", new KernelArguments(Greedy(4)));

        Assert.Equal("Four score and seven", result.GetValue<string>());
    }

    [Fact]
    public async Task ChatCompletion_Cancelled_StopsTheStream()
    {
        var history = new ChatHistory();
        history.AddUserMessage("Begin.");
        using var cts = new CancellationTokenSource();
        var seen = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in Chat.GetStreamingChatMessageContentsAsync(history, Greedy(200), host.Kernel, cts.Token))
            {
                if (++seen == 2) await cts.CancelAsync();
            }
        });
        Assert.Equal(2, seen);
    }

    [Fact]
    public void ChatCompletion_KernelChatClient_IsModelKits()
    {
        var client = Assert.IsType<ModelKitChatClient>(host.Kernel.GetRequiredService<IChatClient>());

        Assert.Equal(RecitingKernel.Id, client.ModelId);
        Assert.Equal("modelkit", client.GetService<ChatClientMetadata>()?.ProviderName);
    }

    [Fact]
    public async Task TextGeneration_ContinuesThePromptAsIs()
    {
        var contents = await TextGeneration.GetTextContentsAsync("Four score and seven", Greedy(3), host.Kernel);

        var content = Assert.Single(contents);
        Assert.Equal(" years ago our", content.Text);
        Assert.Equal(RecitingKernel.Id, content.ModelId);
        Assert.Equal("length", content.Metadata?["FinishReason"]);
        var usage = Assert.IsType<UsageDetails>(content.Metadata?["Usage"]);
        Assert.Equal(4, usage.InputTokenCount); // Four, score, and, seven: no chat template
        Assert.Equal(3, usage.OutputTokenCount);
        Assert.Equal(RecitingKernel.Id, TextGeneration.Attributes["ModelId"]);
    }

    [Fact]
    public async Task TextGeneration_Streaming_EqualsTheWholeText_AndEndsWithTheFinishReason()
    {
        var whole = await TextGeneration.GetTextContentsAsync("that all men are created", Greedy(12), host.Kernel);

        var updates = new List<StreamingTextContent>();
        await foreach (var update in TextGeneration.GetStreamingTextContentsAsync("that all men are created", Greedy(12), host.Kernel)) updates.Add(update);

        Assert.Equal(whole[0].Text, string.Concat(updates.Select(u => u.Text)));
        Assert.StartsWith(" equal. Now we are engaged", whole[0].Text, StringComparison.Ordinal);
        Assert.Equal("length", updates[^1].Metadata?["FinishReason"]);
        Assert.All(updates[..^1], u => Assert.Null(u.Metadata));
    }

    [Fact]
    public async Task TextGeneration_StopSequence_EndsBeforeIt()
    {
        var settings = new PromptExecutionSettings
        {
            ExtensionData = new Dictionary<string, object> { ["temperature"] = 0, ["stop_sequences"] = new[] { "nation" } },
        };

        var contents = await TextGeneration.GetTextContentsAsync("Four score and seven", settings, host.Kernel);

        Assert.Equal(" years ago our fathers brought forth on this continent, a new ", contents[0].Text);
        Assert.Equal("stop", contents[0].Metadata?["FinishReason"]);
    }

    [Fact]
    public void AddModelKitChatCompletion_WithServiceId_IsKeyedAndLeavesTheDefaultAlone()
    {
        using var dir = new TempDirectory();
        var builder = Kernel.CreateBuilder();
        builder.AddModelKitChatCompletion("first", o => o.DataDirectory = dir.Path);
        builder.AddModelKitChatCompletion("second", serviceId: "local");
        builder.AddModelKitTextGeneration("third", serviceId: "completions");
        var kernel = builder.Build();

        Assert.Equal("first", kernel.GetRequiredService<IChatCompletionService>().GetModelId());
        Assert.Equal("first", Assert.IsType<ModelKitChatClient>(kernel.GetRequiredService<IChatClient>()).ModelId);
        Assert.Equal("second", kernel.GetRequiredService<IChatCompletionService>("local").GetModelId());
        Assert.Equal("second", Assert.IsType<ModelKitChatClient>(kernel.GetRequiredService<IChatClient>("local")).ModelId);
        var text = Assert.IsType<ModelKitTextGenerationService>(kernel.GetRequiredService<SKTextGenerationService>("completions"));
        Assert.Equal("third", text.Client.ModelId);
        Assert.Single(kernel.Services.GetServices<IModelRegistry>());
    }

    [Fact]
    public void AddModelKitChatCompletion_RefusesAnEmptyModelId()
    {
        Assert.Throws<ArgumentException>(() => Kernel.CreateBuilder().AddModelKitChatCompletion(""));
        Assert.Throws<ArgumentException>(() => Kernel.CreateBuilder().AddModelKitTextGeneration(""));
        Assert.Throws<ArgumentNullException>(() => ((IKernelBuilder)null!).AddModelKitChatCompletion("m"));
    }
}
