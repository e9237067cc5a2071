using Microsoft.ML.Tokenizers;

namespace ModelKit.Onnx.Text;

/// <summary>
/// A model's tokenizer: a Microsoft.ML.Tokenizers <see cref="Tokenizer"/> read from the files stored with the model
/// version, with the special tokens a text is wrapped in (<c>[CLS] … [SEP]</c> for BERT) and the limits the files declare.
/// Thread-safe; load it once per model version (<see cref="ModelTokenizers.Load(IReadOnlyDictionary{string, string})"/>).
/// </summary>
public sealed class ModelTokenizer
{
    private readonly int[] _prefix;
    private readonly int[] _suffix;

    /// <summary>Wraps <paramref name="tokenizer"/>.</summary>
    /// <param name="tokenizer">The tokenizer; it encodes without special tokens.</param>
    /// <param name="format">What was read: <c>wordpiece</c>, <c>bpe</c>, <c>tiktoken</c> or <c>sentencepiece</c>.</param>
    /// <param name="source">The file it was read from (<c>vocab.txt</c>, <c>tokenizer.json</c> …).</param>
    /// <param name="vocabularySize">The number of ids the model knows; ids from 0 to this value minus one are valid.</param>
    /// <param name="prefix">Ids put before every text (BERT: <c>[CLS]</c>).</param>
    /// <param name="suffix">Ids put after every text (BERT: <c>[SEP]</c>).</param>
    /// <param name="padTokenId">The id that pads a shorter text in a batch (masked out by the attention mask).</param>
    /// <param name="modelMaxLength">The most tokens the model takes, specials included, when the files say; else null.</param>
    public ModelTokenizer(
        Tokenizer tokenizer, string format, string source, int vocabularySize, IReadOnlyList<int> prefix, IReadOnlyList<int> suffix, int padTokenId, int? modelMaxLength)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrEmpty(format);
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, 1);
        Tokenizer = tokenizer;
        Format = format;
        Source = source;
        VocabularySize = vocabularySize;
        _prefix = [.. prefix];
        _suffix = [.. suffix];
        PadTokenId = padTokenId;
        ModelMaxLength = modelMaxLength is > 0 ? modelMaxLength : null;
    }

    /// <summary>The Microsoft.ML.Tokenizers tokenizer (it encodes without the special tokens).</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>What was read: <c>wordpiece</c>, <c>bpe</c>, <c>tiktoken</c> or <c>sentencepiece</c>.</summary>
    public string Format { get; }

    /// <summary>The file it was read from (<c>vocab.txt</c>, <c>tokenizer.json</c> …).</summary>
    public string Source { get; }

    /// <summary>The number of ids the model knows: ids 0 to <c>VocabularySize - 1</c> are valid.</summary>
    public int VocabularySize { get; }

    /// <summary>The id that pads a shorter text in a batch.</summary>
    public int PadTokenId { get; }

    /// <summary>The most tokens the model takes, special tokens included, when the files declare it; else null.</summary>
    public int? ModelMaxLength { get; }

    /// <summary>Ids put before every text (BERT: <c>[CLS]</c>).</summary>
    public IReadOnlyList<int> Prefix => _prefix;

    /// <summary>Ids put after every text (BERT: <c>[SEP]</c>).</summary>
    public IReadOnlyList<int> Suffix => _suffix;

    /// <summary>
    /// Encodes <paramref name="text"/> with the special tokens around it. When it needs more than
    /// <paramref name="maxTokens"/> ids, the text's own tokens are cut at the end (the special tokens stay) and the
    /// result says so; tokenizing stops one token past the limit, so a long text costs no more than what is kept.
    /// </summary>
    public TokenizedText Encode(string text, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, _prefix.Length + _suffix.Length + 1);
        var room = maxTokens - _prefix.Length - _suffix.Length;
        var ids = Tokenizer.EncodeToIds(text, room + 1, out _, out _);
        return Wrap(ids, maxTokens);
    }

    /// <summary>
    /// Takes token ids a client sent: checks each is in the vocabulary, adds the special tokens unless the ids already
    /// start with <see cref="Prefix"/> and end with <see cref="Suffix"/>, and cuts them to <paramref name="maxTokens"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is negative or not below <see cref="VocabularySize"/>.</exception>
    public TokenizedText FromIds(IReadOnlyList<int> ids, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, _prefix.Length + _suffix.Length + 1);
        if (FirstUnknownId(ids) is var at and >= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ids), ids[at], $"Token id {ids[at]} at position {at} is not in the vocabulary (0..{VocabularySize - 1}).");
        }

        if (HasSpecials(ids))
        {
            var body = new int[ids.Count - _prefix.Length - _suffix.Length];
            for (var i = 0; i < body.Length; i++) body[i] = ids[_prefix.Length + i];
            return Wrap(body, maxTokens);
        }

        return Wrap(ids, maxTokens);
    }

    /// <summary>The position of the first id outside the vocabulary (negative, or not below <see cref="VocabularySize"/>); -1 when all are in it.</summary>
    public int FirstUnknownId(IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        for (var i = 0; i < ids.Count; i++)
        {
            if ((uint)ids[i] >= (uint)VocabularySize) return i;
        }

        return -1;
    }

    private bool HasSpecials(IReadOnlyList<int> ids)
    {
        if (_prefix.Length + _suffix.Length == 0 || ids.Count < _prefix.Length + _suffix.Length) return false;
        for (var i = 0; i < _prefix.Length; i++)
        {
            if (ids[i] != _prefix[i]) return false;
        }

        for (var i = 0; i < _suffix.Length; i++)
        {
            if (ids[ids.Count - _suffix.Length + i] != _suffix[i]) return false;
        }

        return true;
    }

    private TokenizedText Wrap(IReadOnlyList<int> body, int maxTokens)
    {
        var room = maxTokens - _prefix.Length - _suffix.Length;
        var kept = Math.Min(body.Count, room);
        var ids = new int[_prefix.Length + kept + _suffix.Length];
        _prefix.CopyTo(ids, 0);
        for (var i = 0; i < kept; i++) ids[_prefix.Length + i] = body[i];
        _suffix.CopyTo(ids, _prefix.Length + kept);
        return new TokenizedText(ids, body.Count + _prefix.Length + _suffix.Length);
    }
}

/// <summary>A text as token ids, special tokens included.</summary>
/// <param name="Ids">The ids the model gets.</param>
/// <param name="FullLength">
/// How many ids the text needed, special tokens included; more than <c>Ids.Length</c> when it was cut (then a lower bound:
/// tokenizing stops one token past the limit).
/// </param>
public readonly record struct TokenizedText(int[] Ids, int FullLength)
{
    /// <summary>True when the text was cut to fit.</summary>
    public bool Truncated => FullLength > Ids.Length;
}
