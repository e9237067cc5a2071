using ModelKit.Onnx.Text.Generation;
using ModelKit.Text;

namespace ModelKit.Tests.Text.Generation;

public sealed class ChatTemplateTests
{
    private static readonly TextChatMessage[] Conversation =
    [
        new("system", "You are terse."),
        new("user", "Hi!"),
        new("assistant", "Hello."),
        new("user", "What is 2+2?"),
    ];

    [Fact]
    public void Render_ChatMl_WritesImStartTurnsAndOpensTheAssistant()
    {
        var prompt = ChatTemplate.ChatMl.Render(Conversation, bosToken: null, eosToken: null);

        Assert.Equal(
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n" +
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
            prompt);
    }

    [Fact]
    public void Render_Llama3_WritesHeadersAndEotIds()
    {
        var prompt = ChatTemplate.Llama3.Render(Conversation, "<|begin_of_text|>", "<|end_of_text|>");

        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            prompt);
    }

    [Fact]
    public void Render_Llama2_PutsTheSystemBlockInTheFirstInstruction()
    {
        var prompt = ChatTemplate.Llama2.Render(Conversation, "<s>", "</s>");

        Assert.Equal("<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] What is 2+2? [/INST]", prompt);
    }

    [Fact]
    public void Render_Mistral_FoldsTheSystemTextIntoTheFirstUserTurn()
    {
        var prompt = ChatTemplate.Mistral.Render(Conversation, "<s>", "</s>");

        Assert.Equal("<s>[INST] You are terse.\n\nHi! [/INST]Hello.</s>[INST] What is 2+2? [/INST]", prompt);
    }

    [Fact]
    public void Render_Gemma_CallsTheAssistantModelAndFoldsTheSystemText()
    {
        var prompt = ChatTemplate.Gemma.Render(Conversation, "<bos>", "<eos>");

        Assert.Equal(
            "<bos><start_of_turn>user\nYou are terse.\n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n" +
            "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
            prompt);
    }

    [Fact]
    public void Render_Phi3_EndsEachTurnWithEnd()
    {
        var prompt = ChatTemplate.Phi3.Render(Conversation, "<s>", "<|endoftext|>");

        Assert.Equal("<|system|>\nYou are terse.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n", prompt);
    }

    [Fact]
    public void Render_Zephyr_EndsEachTurnWithTheEosToken()
    {
        var prompt = ChatTemplate.Zephyr.Render(Conversation, null, null);

        Assert.Equal("<|system|>\nYou are terse.</s>\n<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n<|user|>\nWhat is 2+2?</s>\n<|assistant|>\n", prompt);
    }

    [Fact]
    public void Render_DeveloperRole_IsReadAsSystem()
    {
        var prompt = ChatTemplate.ChatMl.Render([new("developer", "Be brief."), new("User", "Hi")], null, null);

        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public void Render_UnsupportedRole_ThrowsNamingTheMessageAndTheRoles()
    {
        TextChatMessage[] messages = [new("user", "Hi"), new("assistant", "Calling."), new("tool", "{}")];

        var error = Assert.Throws<InvalidInputException>(() => ChatTemplate.ChatMl.Render(messages, null, null));

        Assert.Equal("messages[2].role 'tool' is not supported; use system, developer, user or assistant.", error.Message);
    }

    [Theory]
    [InlineData("mistral")]
    [InlineData("llama2")]
    [InlineData("gemma")]
    public void Render_TurnsThatDoNotAlternate_ThrowsForFamiliesThatNeedIt(string family)
    {
        TextChatMessage[] messages = [new("system", "S"), new("user", "a"), new("user", "b")];

        var error = Assert.Throws<InvalidInputException>(() => ChatTemplate.Detect(null, family).Render(messages, null, null));

        Assert.Contains("messages[2].role is user", error.Message, StringComparison.Ordinal);
        Assert.Contains("alternate", error.Message, StringComparison.Ordinal);
        Assert.Contains(family, error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> JinjaTemplates => new()
    {
        { "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}", "chatml" },
        { "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}", "llama3" },
        { "{% if messages[0]['role'] == 'system' %}{% set system_message = '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}{% endif %}{{ bos_token + '[INST] ' + content + ' [/INST]' }}", "llama2" },
        { "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}", "mistral" },
        { "{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}", "gemma" },
        { "{% for message in messages %}{% if message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}", "phi3" },
        { "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\n' + message['content'] + eos_token }}{% endif %}{% endfor %}", "zephyr" },
        { "{% for message in messages %}{{ message['content'] }}{% endfor %}", "chatml" },
    };

    [Theory]
    [MemberData(nameof(JinjaTemplates))]
    public void Detect_JinjaTemplate_RecognisesTheFamilyByItsMarkers(string jinja, string expected)
    {
        Assert.Equal(expected, ChatTemplate.Detect(jinja, configuredName: null).Name);
    }

    [Fact]
    public void Detect_NoTemplate_IsChatMl()
    {
        Assert.Same(ChatTemplate.ChatMl, ChatTemplate.Detect(null, null));
        Assert.Equal(["<|im_end|>", "<|im_start|>"], ChatTemplate.ChatMl.StopTexts);
    }

    [Fact]
    public void Detect_ConfiguredName_WinsOverTheJinjaText()
    {
        var template = ChatTemplate.Detect("{{ '<|im_start|>' }}", " Llama3 ");

        Assert.Same(ChatTemplate.Llama3, template);
        Assert.Contains("<|eot_id|>", template.StopTexts);
    }

    [Fact]
    public void Detect_UnknownConfiguredName_ThrowsNamingTheKnownOnes()
    {
        var error = Assert.Throws<InvalidModelConfigException>(() => ChatTemplate.Detect(null, "vicuna"));

        Assert.Equal("The chat template 'vicuna' is not known; use chatml, llama3, llama2, mistral, gemma, phi3 or zephyr.", error.Message);
    }
}
