using System.Globalization;
using System.Text;
using ModelKit.Text;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>
/// Renders a conversation to a prompt in one of the chat formats models are trained on (ChatML, Llama 3, Llama 2,
/// Mistral, Gemma, Phi-3, Zephyr), ending with the assistant's turn opened. The family is configured, or recognised from
/// the markers in the model's Jinja <c>chat_template</c>; ModelKit does not run Jinja. Roles: <c>system</c>,
/// <c>developer</c> (read as system), <c>user</c>, <c>assistant</c>.
/// </summary>
internal sealed class ChatTemplate
{
    private const string KnownNames = "chatml, llama3, llama2, mistral, gemma, phi3 or zephyr";

    private readonly Family _family;

    private ChatTemplate(Family family, string name, string[] stopTexts)
    {
        _family = family;
        Name = name;
        StopTexts = stopTexts;
    }

    private enum Family
    {
        ChatMl,
        Llama3,
        Llama2,
        Mistral,
        Gemma,
        Phi3,
        Zephyr,
    }

    private enum Role
    {
        System,
        User,
        Assistant,
    }

    /// <summary>ChatML (<c>&lt;|im_start|&gt;user … &lt;|im_end|&gt;</c>: Qwen, SmolLM, many fine-tunes): the default.</summary>
    public static ChatTemplate ChatMl { get; } = new(Family.ChatMl, "chatml", ["<|im_end|>", "<|im_start|>"]);

    /// <summary>Llama 3 (<c>&lt;|start_header_id|&gt;user&lt;|end_header_id|&gt;</c> … <c>&lt;|eot_id|&gt;</c>).</summary>
    public static ChatTemplate Llama3 { get; } = new(Family.Llama3, "llama3", ["<|eot_id|>", "<|start_header_id|>"]);

    /// <summary>Llama 2 chat (<c>[INST] &lt;&lt;SYS&gt;&gt; … &lt;&lt;/SYS&gt;&gt; … [/INST]</c>).</summary>
    public static ChatTemplate Llama2 { get; } = new(Family.Llama2, "llama2", ["</s>", "[INST]"]);

    /// <summary>Mistral instruct (<c>[INST] … [/INST]</c>, no system role: it goes into the first user turn).</summary>
    public static ChatTemplate Mistral { get; } = new(Family.Mistral, "mistral", ["</s>", "[INST]"]);

    /// <summary>Gemma (<c>&lt;start_of_turn&gt;user</c> … <c>&lt;end_of_turn&gt;</c>, the assistant is <c>model</c>, no system role).</summary>
    public static ChatTemplate Gemma { get; } = new(Family.Gemma, "gemma", ["<end_of_turn>", "<start_of_turn>"]);

    /// <summary>Phi-3 (<c>&lt;|user|&gt;</c> … <c>&lt;|end|&gt;</c>).</summary>
    public static ChatTemplate Phi3 { get; } = new(Family.Phi3, "phi3", ["<|end|>", "<|user|>"]);

    /// <summary>Zephyr (<c>&lt;|user|&gt;</c> … end-of-sequence token).</summary>
    public static ChatTemplate Zephyr { get; } = new(Family.Zephyr, "zephyr", ["</s>", "<|user|>"]);

    /// <summary>The family's name: chatml, llama3, llama2, mistral, gemma, phi3 or zephyr.</summary>
    public string Name { get; }

    /// <summary>
    /// The texts that end the assistant's turn or start the next one (<c>&lt;|im_end|&gt;</c>, <c>&lt;|im_start|&gt;</c>):
    /// extra stop sequences, for models that write them as text rather than as one special token.
    /// </summary>
    public IReadOnlyList<string> StopTexts { get; }

    /// <summary>
    /// The template for a model: <paramref name="configuredName"/> when set; else the family whose markers
    /// <paramref name="jinjaChatTemplate"/> holds; else ChatML.
    /// </summary>
    /// <exception cref="InvalidModelConfigException">The configured name is none of the known families.</exception>
    public static ChatTemplate Detect(string? jinjaChatTemplate, string? configuredName)
    {
        if (!string.IsNullOrWhiteSpace(configuredName))
        {
            return configuredName.Trim().ToLowerInvariant() switch
            {
                "chatml" => ChatMl,
                "llama3" => Llama3,
                "llama2" => Llama2,
                "mistral" => Mistral,
                "gemma" => Gemma,
                "phi3" => Phi3,
                "zephyr" => Zephyr,
                _ => throw new InvalidModelConfigException($"The chat template '{configuredName}' is not known; use {KnownNames}."),
            };
        }

        var jinja = jinjaChatTemplate ?? "";
        if (Has(jinja, "<|im_start|>")) return ChatMl;
        if (Has(jinja, "<|start_header_id|>")) return Llama3;
        if (Has(jinja, "[INST]")) return Has(jinja, "<<SYS>>") ? Llama2 : Mistral;
        if (Has(jinja, "<start_of_turn>")) return Gemma;
        if (Has(jinja, "<|user|>"))
        {
            if (Has(jinja, "<|end|>")) return Phi3;
            if (Has(jinja, "eos_token") || Has(jinja, "</s>")) return Zephyr;
        }

        return ChatMl;
    }

    /// <summary>
    /// The prompt for <paramref name="messages"/>, ending with the assistant's turn opened. Families without a system
    /// role (Mistral, Gemma) put the system text at the start of the first user turn, as their own templates do.
    /// </summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="bosToken">
    /// The beginning-of-sequence token's text, written first by the families whose format starts with it (Llama 2 and 3,
    /// Mistral, Gemma); null when the tokenizer adds it itself, so that the prompt does not start with two.
    /// </param>
    /// <param name="eosToken">The end-of-sequence token's text, which ends turns in Llama 2, Mistral and Zephyr; null: <c>&lt;/s&gt;</c>.</param>
    /// <exception cref="InvalidInputException">
    /// A message's role is not supported, or the family needs user and assistant turns to alternate and they do not.
    /// </exception>
    public string Render(IReadOnlyList<TextChatMessage> messages, string? bosToken, string? eosToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var turns = new List<(Role Role, string Content, int Index)>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i] ?? throw new InvalidInputException($"messages[{i}] is null.");
            var role = ParseRole(message.Role) ?? throw new InvalidInputException(TextGenerationParameters.UnknownRole(i, message.Role));
            turns.Add((role, message.Content ?? "", i));
        }

        var bos = bosToken ?? "";
        var eos = eosToken ?? "</s>";
        var prompt = new StringBuilder();
        switch (_family)
        {
            case Family.ChatMl:
                foreach (var (role, content, _) in turns) prompt.Append("<|im_start|>").Append(RoleName(role)).Append('\n').Append(content).Append("<|im_end|>\n");
                prompt.Append("<|im_start|>assistant\n");
                break;
            case Family.Llama3:
                prompt.Append(bos);
                foreach (var (role, content, _) in turns)
                {
                    prompt.Append("<|start_header_id|>").Append(RoleName(role)).Append("<|end_header_id|>\n\n").Append(content.Trim()).Append("<|eot_id|>");
                }

                prompt.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                break;
            case Family.Llama2:
                foreach (var (role, content, _) in Alternating(turns, system => $"<<SYS>>\n{system}\n<</SYS>>\n\n"))
                {
                    if (role == Role.User) prompt.Append(bos).Append("[INST] ").Append(content.Trim()).Append(" [/INST]");
                    else prompt.Append(' ').Append(content.Trim()).Append(' ').Append(eos);
                }

                break;
            case Family.Mistral:
                prompt.Append(bos);
                foreach (var (role, content, _) in Alternating(turns, system => system + "\n\n"))
                {
                    if (role == Role.User) prompt.Append("[INST] ").Append(content).Append(" [/INST]");
                    else prompt.Append(content).Append(eos);
                }

                break;
            case Family.Gemma:
                prompt.Append(bos);
                foreach (var (role, content, _) in Alternating(turns, system => system + "\n\n"))
                {
                    prompt.Append("<start_of_turn>").Append(role == Role.User ? "user" : "model").Append('\n').Append(content.Trim()).Append("<end_of_turn>\n");
                }

                prompt.Append("<start_of_turn>model\n");
                break;
            case Family.Phi3:
                foreach (var (role, content, _) in turns) prompt.Append("<|").Append(RoleName(role)).Append("|>\n").Append(content).Append("<|end|>\n");
                prompt.Append("<|assistant|>\n");
                break;
            case Family.Zephyr:
                foreach (var (role, content, _) in turns) prompt.Append("<|").Append(RoleName(role)).Append("|>\n").Append(content).Append(eos).Append('\n');
                prompt.Append("<|assistant|>\n");
                break;
        }

        return prompt.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    // The turns of a family without a system role: the system messages' text (joined) goes before the first user turn's,
    // in the family's way; the rest must go user, assistant, user … as the family's own template requires.
    private List<(Role Role, string Content, int Index)> Alternating(List<(Role Role, string Content, int Index)> turns, Func<string, string> systemPrefix)
    {
        string? system = null;
        var rest = new List<(Role Role, string Content, int Index)>(turns.Count);
        foreach (var turn in turns)
        {
            if (turn.Role == Role.System) system = system is null ? turn.Content : system + "\n\n" + turn.Content;
            else rest.Add(turn);
        }

        for (var i = 0; i < rest.Count; i++)
        {
            var expected = i % 2 == 0 ? Role.User : Role.Assistant;
            if (rest[i].Role != expected)
            {
                throw new InvalidInputException(
                    $"messages[{rest[i].Index}].role is {RoleName(rest[i].Role)}, but the model's chat template ({Name}) needs user and assistant messages to alternate, starting with user (after any system messages).");
            }
        }

        if (system is not null)
        {
            if (rest.Count == 0) rest.Add((Role.User, systemPrefix(system).TrimEnd(), -1));
            else rest[0] = (Role.User, systemPrefix(system) + rest[0].Content, rest[0].Index);
        }

        return rest;
    }

    private static bool Has(string text, string marker) => text.Contains(marker, StringComparison.Ordinal);

    private static string RoleName(Role role) => role switch
    {
        Role.System => "system",
        Role.User => "user",
        _ => "assistant",
    };

    private static Role? ParseRole(string? role) => role?.ToLowerInvariant() switch
    {
        "system" or "developer" => Role.System,
        "user" => Role.User,
        "assistant" => Role.Assistant,
        _ => null,
    };
}
