using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ModelKit.ModelGenerator;
using ModelKit.Onnx.Text.Generation;
using ModelKit.Registry;
using ModelKit.Text;

namespace ModelKit.Tests.Text.Generation;

/// <summary>
/// ModelKit with the reciting decoder (an n-gram model of the Gettysburg Address: greedy decoding recites it from any
/// prompt, then ends with the end-of-text token) registered, and chat clients added through the builder.
/// </summary>
/// <remarks>
/// The address is recited as one paragraph: a ChatML prompt ends with a line break (<c>&lt;|im_start|&gt;assistant\n</c>), and
/// with the paragraphs' line breaks in the text the decoder would take it for the first paragraph's end and go on
/// with the second.
/// </remarks>
public sealed class RecitingHost : IAsyncLifetime
{
    public const string Id = "gettysburg";

    public static readonly string Text = DecoderModels.GettysburgAddress.Replace("\n\n", " ", StringComparison.Ordinal);
    public const string OtherId = "gettysburg-2";
    private readonly TempDirectory _dir = new();

    public ServiceProvider Provider { get; private set; } = null!;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 11, 19, 12, 0, 0, TimeSpan.Zero));

    public IChatClient Client => Provider.GetRequiredService<IChatClient>();

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection().AddLogging().AddMetrics();
        services.AddSingleton<TimeProvider>(Time);
        services.AddModelKit(o => o.DataDirectory = _dir.Combine("data"))
            .AddOnnxRuntime(o => o.IntraOpThreads = 2)
            .ConfigureTextGeneration(o => o.MaxBatchSequences = 8)
            .AddChatClient(Id)
            .AddChatClient(OtherId);
        Provider = services.BuildServiceProvider();
        var directory = DecoderModels.WriteRecitingDecoderDirectory(_dir.Combine("decoder"), Text);
        var files = new List<ArtifactSource>();
        foreach (var name in DecoderModels.DirectoryFiles) files.Add(ArtifactSource.FromFile(name, Path.Combine(directory, name)));
        await Provider.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = Id, Name = "Gettysburg" }, files);
    }

    public async Task DisposeAsync()
    {
        await Provider.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary><see cref="ModelKitChatClient"/> through the real generation service and the reciting decoder.</summary>
public sealed class ChatClientTests(RecitingHost host) : IClassFixture<RecitingHost>
{
    private static readonly ChatMessage[] Conversation =
    [
        new(ChatRole.System, "You are Abraham Lincoln."),
        new(ChatRole.User, "How does your speech at Gettysburg begin?"),
    ];

    private static ChatOptions Greedy(int? maxTokens = null) => new() { Temperature = 0, MaxOutputTokens = maxTokens };

    [Fact]
    public async Task GetResponseAsync_RecitesTheAddress_AndStopsAtTheEnd()
    {
        var response = await host.Client.GetResponseAsync(Conversation, Greedy());

        var message = Assert.Single(response.Messages);
        Assert.Equal(ChatRole.Assistant, message.Role);
        Assert.Equal(RecitingHost.Text, response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(RecitingHost.Id, response.ModelId);
        Assert.StartsWith("chatcmpl-", response.ResponseId, StringComparison.Ordinal);
        Assert.Equal(host.Time.GetUtcNow(), response.CreatedAt);
        Assert.Equal("1", response.AdditionalProperties?["model_version"]?.ToString());
        Assert.NotNull(response.Usage);
        Assert.True(response.Usage.InputTokenCount > 20, $"input tokens: {response.Usage.InputTokenCount}");
        // Every token of the address, then the end-of-text token (counted, not returned).
        var result = Assert.IsType<TextGenerationResult>(response.RawRepresentation);
        Assert.Equal(result.Choices[0].TokenIds.Count + 1, response.Usage.OutputTokenCount);
        Assert.DoesNotContain(DecoderModels.EndOfTextTokenId, result.Choices[0].TokenIds);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_UpdatesAddUpToTheResponse()
    {
        var response = await host.Client.GetResponseAsync(Conversation, Greedy(40));

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in host.Client.GetStreamingResponseAsync(Conversation, Greedy(40))) updates.Add(update);

        Assert.True(updates.Count > 10, $"{updates.Count} updates");
        Assert.All(updates, u => Assert.Equal(ChatRole.Assistant, u.Role));
        Assert.All(updates, u => Assert.Equal(RecitingHost.Id, u.ModelId));
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        // Text only before the last update; the finish reason and the usage only on it.
        Assert.All(updates[..^1], u => Assert.Null(u.FinishReason));
        Assert.All(updates[..^1], u => Assert.IsType<TextContent>(Assert.Single(u.Contents)));
        var last = updates[^1];
        Assert.Equal(ChatFinishReason.Length, last.FinishReason);
        var usage = Assert.IsType<UsageContent>(Assert.Single(last.Contents));
        Assert.Equal(40, usage.Details.OutputTokenCount);

        var streamed = updates.ToChatResponse();
        Assert.Equal(response.Text, streamed.Text);
        Assert.StartsWith("Four score and seven years ago", streamed.Text, StringComparison.Ordinal);
        Assert.Equal(response.FinishReason, streamed.FinishReason);
        Assert.Equal(response.Usage!.InputTokenCount, streamed.Usage!.InputTokenCount);
        Assert.Equal(response.Usage.OutputTokenCount, streamed.Usage.OutputTokenCount);
        Assert.Equal(response.Usage.TotalTokenCount, streamed.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task GetResponseAsync_MaxOutputTokens_EndsWithLength()
    {
        var response = await host.Client.GetResponseAsync(Conversation, Greedy(5));

        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(5, response.Usage!.OutputTokenCount);
        Assert.Equal("Four score and seven years", response.Text);
    }

    [Fact]
    public async Task GetResponseAsync_StopSequence_EndsBeforeIt()
    {
        var options = new ChatOptions { Temperature = 0, StopSequences = ["seven"] };

        var response = await host.Client.GetResponseAsync(Conversation, options);
        var streamed = await host.Client.GetStreamingResponseAsync(Conversation, options).ToChatResponseAsync();

        Assert.Equal("Four score and ", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("Four score and ", streamed.Text);
        Assert.Equal(ChatFinishReason.Stop, streamed.FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_SamplingOptions_ReachTheService()
    {
        // The reciting decoder puts over 0.999 of the probability on the next word, so sampling recites too: the options
        // are checked by the service's ranges (a value out of range is refused with INVALID_INPUT, naming the field).
        var sampled = await host.Client.GetResponseAsync(
            Conversation,
            new ChatOptions { Temperature = 0.7f, TopP = 0.9f, TopK = 40, Seed = 7, PresencePenalty = 0.1f, FrequencyPenalty = 0.1f, MaxOutputTokens = 6 });
        Assert.Equal("Four score and seven years ago", sampled.Text);

        var error = await Assert.ThrowsAsync<InvalidInputException>(() =>
            host.Client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 3f }));
        Assert.Contains("temperature", error.Message, StringComparison.OrdinalIgnoreCase);
        error = await Assert.ThrowsAsync<InvalidInputException>(() =>
            host.Client.GetResponseAsync(Conversation, new ChatOptions { PresencePenalty = 5f }));
        Assert.Contains("presence", error.Message, StringComparison.OrdinalIgnoreCase);
        error = await Assert.ThrowsAsync<InvalidInputException>(() =>
            host.Client.GetResponseAsync(Conversation, new ChatOptions { StopSequences = ["a", "b", "c", "d", "e"] }));
        Assert.Contains("stop", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task GetResponseAsync_Instructions_AreASystemMessage()
    {
        var without = await host.Client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")], Greedy(1));
        var with = await host.Client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, "Hi")], new ChatOptions { Temperature = 0, MaxOutputTokens = 1, Instructions = "Be brief." });
        var asMessage = await host.Client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "Hi")], Greedy(1));

        Assert.True(with.Usage!.InputTokenCount > without.Usage!.InputTokenCount);
        Assert.Equal(asMessage.Usage!.InputTokenCount, with.Usage.InputTokenCount);
    }

    [Fact]
    public async Task GetCompletionAsync_ContinuesThePromptWithoutTheTemplate()
    {
        var client = Assert.IsType<ModelKitChatClient>(host.Client);

        var response = await client.GetCompletionAsync("Four score and seven", Greedy(3));
        var streamed = await client.GetStreamingCompletionAsync("Four score and seven", Greedy(3)).ToChatResponseAsync();

        Assert.Equal(" years ago our", response.Text);
        Assert.Equal(4, response.Usage!.InputTokenCount); // Four, score, and, seven: no template around them
        Assert.Equal(response.Text, streamed.Text);
        Assert.Equal(ChatFinishReason.Length, streamed.FinishReason);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Cancelled_StopsTheGeneration()
    {
        using var cts = new CancellationTokenSource();
        var seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in host.Client.GetStreamingResponseAsync(Conversation, Greedy(), cts.Token))
            {
                if (++seen == 3) await cts.CancelAsync();
            }
        });

        Assert.Equal(3, seen);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            host.Client.GetResponseAsync(Conversation, Greedy(), new CancellationToken(canceled: true)));
        // The engine serves the next conversation.
        Assert.Equal("Four score", (await host.Client.GetResponseAsync(Conversation, Greedy(2))).Text);
    }

    [Fact]
    public async Task Tools_AreRefusedByName_UnlessToolModeIsNone()
    {
        var tool = AIFunctionFactory.Create(() => "sunny", "get_weather");

        var error = await Assert.ThrowsAsync<NotSupportedException>(() =>
            host.Client.GetResponseAsync(Conversation, new ChatOptions { Tools = [tool] }));
        Assert.Contains("get_weather", error.Message, StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => host.Client.GetStreamingResponseAsync(Conversation, new ChatOptions { Tools = [tool] }));

        var response = await host.Client.GetResponseAsync(Conversation, new ChatOptions { Tools = [tool], ToolMode = ChatToolMode.None, Temperature = 0, MaxOutputTokens = 2 });
        Assert.Equal("Four score", response.Text);
    }

    [Fact]
    public async Task NonTextMessages_AreRefusedWithWhatWasFound()
    {
        var toolMessage = new ChatMessage(ChatRole.Tool, [new FunctionResultContent("call-1", "sunny")]);
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => host.Client.GetResponseAsync([.. Conversation, toolMessage]));
        Assert.Contains("Message 2 has the tool role", error.Message, StringComparison.Ordinal);

        var call = new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("call-1", "get_weather")]);
        error = await Assert.ThrowsAsync<NotSupportedException>(() => host.Client.GetResponseAsync([.. Conversation, call]));
        Assert.Contains("FunctionCallContent", error.Message, StringComparison.Ordinal);

        var image = new ChatMessage(ChatRole.User, [new TextContent("What is this?"), new DataContent(new byte[] { 1, 2, 3 }, "image/png")]);
        error = await Assert.ThrowsAsync<NotSupportedException>(() => host.Client.GetResponseAsync([image]));
        Assert.Contains("DataContent", error.Message, StringComparison.Ordinal);

        error = await Assert.ThrowsAsync<NotSupportedException>(() =>
            host.Client.GetResponseAsync(Conversation, new ChatOptions { ResponseFormat = ChatResponseFormat.Json }));
        Assert.Contains("JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownRole_IsInvalidInput()
    {
        var error = await Assert.ThrowsAsync<InvalidInputException>(() =>
            host.Client.GetResponseAsync([new ChatMessage(new ChatRole("narrator"), "Once")]));
        Assert.Contains("narrator", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelIdOption_PicksAnotherModel()
    {
        var error = await Assert.ThrowsAsync<ModelNotFoundException>(() =>
            host.Client.GetResponseAsync(Conversation, new ChatOptions { ModelId = "no-such-model" }));
        Assert.Contains("no-such-model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddChatClient_KeyedByModelId_FirstIsUnkeyed_WithMetadata()
    {
        var first = Assert.IsType<ModelKitChatClient>(host.Provider.GetRequiredKeyedService<IChatClient>(RecitingHost.Id));
        var second = Assert.IsType<ModelKitChatClient>(host.Provider.GetRequiredKeyedService<IChatClient>(RecitingHost.OtherId));

        Assert.Same(first, host.Client);
        Assert.Equal(RecitingHost.OtherId, second.ModelId);
        var metadata = host.Client.GetService<ChatClientMetadata>();
        Assert.NotNull(metadata);
        Assert.Equal("modelkit", metadata.ProviderName);
        Assert.Equal(RecitingHost.Id, metadata.DefaultModelId);
        Assert.Same(host.Provider.GetRequiredService<ITextGenerationService>(), host.Client.GetService<ITextGenerationService>());
        Assert.Null(host.Client.GetService<ChatClientMetadata>("key"));
        Assert.Equal(8, host.Provider.GetRequiredService<IOptions<TextGenerationOptions>>().Value.MaxBatchSequences);
    }

    [Fact]
    public async Task DescribeAsync_ReportsTheDecoder()
    {
        var info = await Assert.IsType<ModelKitChatClient>(host.Client).DescribeAsync();

        Assert.Equal("chatml", info.ChatTemplate);
        Assert.Equal([DecoderModels.EndOfTextTokenId], info.EosTokenIds);
        Assert.Equal(1024, info.ContextLength);
    }

    [Fact]
    public void Constructor_RefusesMissingArguments()
    {
        Assert.Throws<ArgumentNullException>(() => new ModelKitChatClient(null!, "m"));
        Assert.Throws<ArgumentException>(() => new ModelKitChatClient(host.Provider.GetRequiredService<ITextGenerationService>(), ""));
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddModelKit().AddChatClient(""));
    }
}
