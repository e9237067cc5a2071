using ModelKit.Onnx.Text.Generation;
using ModelKit.Text;

namespace ModelKit.Tests.Text.Generation;

public sealed class GenerationParametersTests
{
    private static readonly TextGenerationRequest Valid = new()
    {
        ModelId = "gpt2",
        Prompt = "Once upon a time",
        MaxTokens = 16,
        Temperature = 0.7f,
        TopP = 0.9f,
        TopK = 40,
        Stop = ["\n", "THE END"],
        N = 2,
        PresencePenalty = -2,
        FrequencyPenalty = 2,
        LogProbs = true,
        TopLogProbs = 20,
    };

    [Fact]
    public void Validate_ParametersInRange_Passes()
    {
        TextGenerationParameters.Validate(Valid, maxChoices: 4);
        TextGenerationParameters.Validate(new TextGenerationRequest { ModelId = "m", Messages = [new("user", "Hi")] }, maxChoices: 1);
        TextGenerationParameters.Validate(new TextGenerationRequest { ModelId = "m", PromptTokenIds = [1, 2], Temperature = 0, TopP = 1 }, maxChoices: 1);
    }

    public static TheoryData<TextGenerationRequest, string> Invalid => new()
    {
        { Valid with { Temperature = 2.5f }, "temperature must be between 0 and 2; got 2.5." },
        { Valid with { Temperature = -0.5f }, "temperature must be between 0 and 2; got -0.5." },
        { Valid with { Temperature = float.NaN }, "temperature must be between 0 and 2; got NaN." },
        { Valid with { TopP = 0 }, "top_p must be above 0 and at most 1; got 0." },
        { Valid with { TopP = 1.01f }, "top_p must be above 0 and at most 1; got 1.01." },
        { Valid with { TopK = 0 }, "top_k must be 1 or more; got 0." },
        { Valid with { N = 0 }, "n must be between 1 and 4; got 0." },
        { Valid with { N = 5 }, "n must be between 1 and 4; got 5." },
        { Valid with { MaxTokens = 0 }, "max_tokens must be 1 or more; got 0." },
        { Valid with { PresencePenalty = 2.5f }, "presence_penalty must be between -2 and 2; got 2.5." },
        { Valid with { FrequencyPenalty = float.NaN }, "frequency_penalty must be between -2 and 2; got NaN." },
        { Valid with { TopLogProbs = 21 }, "top_logprobs must be between 0 and 20; got 21." },
        { Valid with { TopLogProbs = -1 }, "top_logprobs must be between 0 and 20; got -1." },
        { Valid with { LogProbs = false }, "top_logprobs needs logprobs set to true." },
        { Valid with { Stop = ["a", "b", "c", "d", "e"] }, "stop takes at most 4 sequences; got 5." },
        { Valid with { Stop = ["a", ""] }, "stop[1] is empty; a stop sequence needs at least one character." },
        { Valid with { Prompt = null }, "Set exactly one of prompt, prompt_token_ids and messages; got none." },
        { Valid with { Messages = [new("user", "Hi")] }, "Set exactly one of prompt, prompt_token_ids and messages; got prompt and messages." },
        { Valid with { Prompt = "" }, "prompt is empty; give the text to continue." },
        { Valid with { Prompt = null, PromptTokenIds = [] }, "prompt_token_ids is empty; give at least one token id." },
        { Valid with { Prompt = null, Messages = [] }, "messages is empty; give at least one message." },
        { Valid with { Prompt = null, Messages = [new("user", "Hi"), new("", "x")] }, "messages[1].role is empty; use system, developer, user or assistant." },
        { Valid with { Prompt = null, Messages = [new("function", "x")] }, "messages[0].role 'function' is not supported; use system, developer, user or assistant." },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_ParameterOutOfRange_ThrowsNamingTheFieldAndItsRange(TextGenerationRequest request, string message)
    {
        var error = Assert.Throws<InvalidInputException>(() => TextGenerationParameters.Validate(request, maxChoices: 4));

        Assert.Equal(message, error.Message);
        Assert.Equal("INVALID_INPUT", error.ErrorCode);
    }

    [Fact]
    public void Validate_SeveralWrongFields_ListsThemAll()
    {
        var error = Assert.Throws<InvalidInputException>(() => TextGenerationParameters.Validate(Valid with { Temperature = 3, TopK = -1, Stop = ["x", "y"] }, maxChoices: 4, maxStopSequences: 1));

        Assert.Equal("temperature must be between 0 and 2; got 3. top_k must be 1 or more; got -1. stop takes at most 1 sequences; got 2.", error.Message);
    }
}
