using System.Text;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>
/// Turns one choice's generated tokens into text as they come. A byte-level BPE or tiktoken token may end inside a
/// UTF-8 character (日 is three bytes, often two tokens): its bytes wait until the character is whole, so no text
/// ever holds U+FFFD for a split character. Special tokens (<c>&lt;|endoftext|&gt;</c>) add no text. Not thread-safe:
/// one per choice.
/// </summary>
internal sealed class IncrementalDetokenizer
{
    private readonly ModelTokenizer _tokenizer;

    // Invalid bytes (a model can generate any sequence) become U+FFFD, as the tokenizer's Decode gives them.
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private char[] _chars = new char[16];

    /// <summary>Decodes the tokens of <paramref name="tokenizer"/>.</summary>
    public IncrementalDetokenizer(ModelTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
    }

    /// <summary>
    /// Adds a generated token; returns the text that became whole with it (empty while a character is still split, or
    /// for a special token).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not in the tokenizer's vocabulary.</exception>
    public string Push(int tokenId) => _tokenizer.IsSpecialToken(tokenId) ? "" : Decode(_tokenizer.TokenBytes(tokenId), flush: false);

    /// <summary>At the end: the bytes still waiting for the rest of a character, as U+FFFD (empty when none wait).</summary>
    public string Flush() => Decode([], flush: true);

    private string Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        var count = _utf8.GetCharCount(bytes, flush);
        if (count == 0)
        {
            // GetCharCount leaves the decoder as it was: feed it the bytes to hold.
            _utf8.GetChars(bytes, _chars, flush);
            return "";
        }

        if (count > _chars.Length) _chars = new char[Math.Max(count, _chars.Length * 2)];
        var written = _utf8.GetChars(bytes, _chars, flush);
        return new string(_chars, 0, written);
    }
}
