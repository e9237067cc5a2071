using Microsoft.ML.Tokenizers;

namespace ModelKit.Onnx.Text;

/// <summary>
/// A SentencePiece <c>tokenizer.model</c> (a serialized <c>ModelProto</c>, BPE or Unigram) through
/// <see cref="SentencePieceTokenizer"/>. The beginning-of-sentence token goes before every text unless
/// <c>tokenizer_config.json</c> says <c>add_bos_token: false</c> (Llama's default is true); the end-of-sentence token goes
/// after it when <c>add_eos_token</c> is true, or for T5 (whose tokenizer always appends it and has no beginning token).
/// </summary>
internal static class SentencePieceTokenizerLoader
{
    public static ModelTokenizer Load((string Name, string Path) file, TokenizerConfig config)
    {
        SentencePieceTokenizer tokenizer;
        using (var stream = File.OpenRead(file.Path))
        {
            tokenizer = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        }

        var size = 0;
        foreach (var (_, id) in tokenizer.Vocabulary) size = Math.Max(size, id + 1);
        if (size == 0) throw new FormatException("the model holds no pieces.");

        var t5 = config.TokenizerClass?.StartsWith("T5", StringComparison.Ordinal) == true;
        var bos = tokenizer.BeginningOfSentenceId;
        var eos = tokenizer.EndOfSentenceId;
        var addBos = config.AddBeginningToken ?? !t5;
        var addEos = config.AddEndToken ?? t5;
        var pad = config.PaddingToken is { } p && tokenizer.Vocabulary.TryGetValue(p, out var padId) ? padId
            : eos >= 0 ? eos
            : tokenizer.UnknownId;
        return new ModelTokenizer(
            tokenizer, "sentencepiece", file.Name, size,
            addBos && bos >= 0 && bos < size ? [bos] : [],
            addEos && eos >= 0 && eos < size ? [eos] : [],
            pad, config.ModelMaxLength);
    }
}
