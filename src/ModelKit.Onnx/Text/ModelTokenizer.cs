using System.Reflection;
using System.Text;
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
    private TokenTable? _tokenTable;

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

    /// <summary>
    /// The UTF-8 bytes token <paramref name="id"/> stands for in a decoded text: for a byte-level BPE or tiktoken token
    /// possibly part of a character; for a special token (<c>&lt;|endoftext|&gt;</c>) its text. Empty for an id the
    /// tokenizer's files leave out. The table is built on first use (once per tokenizer).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is negative or not below <see cref="VocabularySize"/>.</exception>
    internal ReadOnlySpan<byte> TokenBytes(int id) => Table.Bytes[CheckId(id)];

    /// <summary>True when <paramref name="id"/> is a special token (end of text, beginning of sentence, padding …): decoded text leaves it out.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is negative or not below <see cref="VocabularySize"/>.</exception>
    internal bool IsSpecialToken(int id) => Table.Special[CheckId(id)];

    /// <summary>
    /// The token's text for log-probabilities: its bytes as UTF-8 when they are whole characters, else OpenAI's form for
    /// part of a character, <c>bytes:\xe6\x97</c>.
    /// </summary>
    internal string TokenText(int id)
    {
        var bytes = TokenBytes(id);
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
        var text = new StringBuilder("bytes:", 6 + 4 * bytes.Length);
        foreach (var b in bytes) text.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        return text.ToString();
    }

    private TokenTable Table => LazyInitializer.EnsureInitialized(ref _tokenTable, BuildTokenTable);

    private int CheckId(int id)
    {
        if ((uint)id >= (uint)VocabularySize)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is not in the vocabulary (0..{VocabularySize - 1}).");
        }

        return id;
    }

    // Each id's bytes, from the tokenizer's own vocabulary where Microsoft.ML.Tokenizers shows it, else from decoding the
    // id alone (exact for whole characters only).
    private TokenTable BuildTokenTable()
    {
        var bytes = new byte[VocabularySize][];
        var special = new bool[VocabularySize];
        IReadOnlyDictionary<string, int>? specials = null;
        switch (Tokenizer)
        {
            case BpeTokenizer bpe:
                foreach (var (token, id) in bpe.Vocabulary)
                {
                    if ((uint)id < (uint)bytes.Length) bytes[id] = bpe.ByteLevel ? ByteLevelBytes(token) : PieceBytes(token, bpe.ContinuingSubwordPrefix, bpe.EndOfWordSuffix);
                }

                specials = bpe.SpecialTokens;
                break;
            case SentencePieceTokenizer sentencePiece:
                foreach (var (piece, id) in sentencePiece.Vocabulary)
                {
                    if ((uint)id >= (uint)bytes.Length) continue;
                    bytes[id] = sentencePiece.ByteFallback && BytePiece(piece) is { } b ? [b] : PieceBytes(piece, null, null);
                }

                foreach (var id in (ReadOnlySpan<int>)[sentencePiece.BeginningOfSentenceId, sentencePiece.EndOfSentenceId, sentencePiece.UnknownId])
                {
                    if ((uint)id < (uint)special.Length) special[id] = true;
                }

                specials = sentencePiece.SpecialTokens;
                break;
            case TiktokenTokenizer tiktoken when TiktokenRanks(tiktoken) is { } ranks:
                foreach (var (id, token) in ranks)
                {
                    if ((uint)id < (uint)bytes.Length) bytes[id] = token.ToArray();
                }

                specials = tiktoken.SpecialTokens;
                break;
            case TiktokenTokenizer tiktoken:
                specials = tiktoken.SpecialTokens;
                break;
            case WordPieceTokenizer wordPiece:
                specials = wordPiece.SpecialTokens;
                break;
        }

        if (specials is not null)
        {
            foreach (var (token, id) in specials)
            {
                if ((uint)id >= (uint)bytes.Length) continue;
                bytes[id] = Encoding.UTF8.GetBytes(token);
                special[id] = true;
            }
        }

        // The ids put around a text are special whatever the files call them. (Not the padding id: without a padding
        // token it falls back to an ordinary one.)
        foreach (var id in _prefix) special[id] = true;
        foreach (var id in _suffix) special[id] = true;
        var one = new int[1];
        for (var id = 0; id < bytes.Length; id++)
        {
            if (bytes[id] is not null) continue;
            one[0] = id;
            bytes[id] = Tokenizer is TiktokenTokenizer or WordPieceTokenizer ? Encoding.UTF8.GetBytes(Decoded(one)) : [];
        }

        return new TokenTable(bytes, special);
    }

    private string Decoded(int[] one)
    {
        try
        {
            return Tokenizer.Decode(one);
        }
        catch (ArgumentException)
        {
            return ""; // an id the vocabulary leaves out
        }
        catch (KeyNotFoundException)
        {
            return "";
        }
    }

    // Microsoft.ML.Tokenizers 2.0.1 keeps a tiktoken tokenizer's rank → bytes map internal; without it, a token that
    // ends inside a character has no exact bytes (decoding it alone gives U+FFFD). Read it when it is there.
    private static IReadOnlyDictionary<int, ReadOnlyMemory<byte>>? TiktokenRanks(TiktokenTokenizer tokenizer) =>
        typeof(TiktokenTokenizer).GetProperty("Decoder", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(tokenizer) as IReadOnlyDictionary<int, ReadOnlyMemory<byte>>;

    // GPT-2's byte-level alphabet: printable bytes stand for themselves, the others (controls, space, 0x7F–0xA0, 0xAD)
    // for U+0100 onwards in byte order.
    private static readonly Lazy<Dictionary<char, byte>> ByteLevelAlphabet = new(() =>
    {
        var map = new Dictionary<char, byte>(256);
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[printable ? (char)b : (char)next++] = (byte)b;
        }

        return map;
    });

    private static byte[] ByteLevelBytes(string token)
    {
        var alphabet = ByteLevelAlphabet.Value;
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            // A character outside the alphabet (an added token's text) is not byte-level: take the text as is.
            if (!alphabet.TryGetValue(token[i], out bytes[i])) return Encoding.UTF8.GetBytes(token);
        }

        return bytes;
    }

    // A SentencePiece / Metaspace piece: ▁ is a space; a word-continuation prefix goes, an end-of-word suffix is a space.
    private static byte[] PieceBytes(string piece, string? continuingPrefix, string? wordSuffix)
    {
        if (!string.IsNullOrEmpty(continuingPrefix) && piece.StartsWith(continuingPrefix, StringComparison.Ordinal)) piece = piece[continuingPrefix.Length..];
        if (!string.IsNullOrEmpty(wordSuffix) && piece.EndsWith(wordSuffix, StringComparison.Ordinal)) piece = piece[..^wordSuffix.Length] + " ";
        return Encoding.UTF8.GetBytes(piece.Replace('\u2581', ' '));
    }

    // A byte-fallback piece, <0xE6>.
    private static byte? BytePiece(string piece) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var b)
            ? b
            : null;

    private sealed record TokenTable(byte[][] Bytes, bool[] Special);

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
