using System.Text;
using Microsoft.ML.Tokenizers;

namespace ModelKit.Onnx.Text;

/// <summary>BERT WordPiece: a <c>vocab.txt</c> (one token a line, the line number is the id) or a vocabulary from <c>tokenizer.json</c>.</summary>
internal static class WordPieceTokenizerLoader
{
    public static ModelTokenizer Load((string Name, string Path) vocab, TokenizerConfig config)
    {
        var tokens = new List<string>();
        foreach (var line in File.ReadLines(vocab.Path)) tokens.Add(line);
        while (tokens.Count > 0 && tokens[^1].Length == 0) tokens.RemoveAt(tokens.Count - 1);
        if (tokens.Count == 0) throw new FormatException("the vocabulary is empty.");
        var tokenizer = Create(tokens, config.DoLowerCase ?? true, stripAccents: null, splitCjk: true, basic: true, unknown: config.UnknownToken ?? "[UNK]", subwordPrefix: "##",
            classification: config.ClassificationToken ?? "[CLS]", separator: config.SeparatorToken ?? "[SEP]", padding: config.PaddingToken ?? "[PAD]", mask: config.MaskToken ?? "[MASK]");
        return new ModelTokenizer(
            tokenizer, "wordpiece", vocab.Name, tokens.Count, [tokenizer.ClassificationTokenId], [tokenizer.SeparatorTokenId], tokenizer.PaddingTokenId, config.ModelMaxLength);
    }

    /// <summary>
    /// A BERT tokenizer over <paramref name="tokens"/> (index = id). Special tokens the vocabulary lacks are replaced by
    /// the unknown token so that the library accepts the vocabulary; the caller decides which ids wrap a text.
    /// </summary>
    public static BertTokenizer Create(
        IReadOnlyList<string> tokens, bool lowerCase, bool? stripAccents, bool splitCjk, bool basic, string unknown, string subwordPrefix,
        string classification, string separator, string padding, string mask)
    {
        var known = new HashSet<string>(tokens, StringComparer.Ordinal);
        if (!known.Contains(unknown)) throw new FormatException($"the unknown token '{unknown}' is not in the vocabulary.");
        var options = new BertOptions
        {
            LowerCaseBeforeTokenization = lowerCase,
            RemoveNonSpacingMarks = stripAccents ?? lowerCase,
            IndividuallyTokenizeCjk = splitCjk,
            ApplyBasicTokenization = basic,
            UnknownToken = unknown,
            ContinuingSubwordPrefix = subwordPrefix,
            ClassificationToken = known.Contains(classification) ? classification : unknown,
            SeparatorToken = known.Contains(separator) ? separator : unknown,
            PaddingToken = known.Contains(padding) ? padding : unknown,
            MaskingToken = known.Contains(mask) ? mask : unknown,
        };

        // The library reads a vocab.txt; write the tokens as one, in id order.
        using var stream = new MemoryStream();
        using (var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" })
        {
            foreach (var token in tokens) writer.WriteLine(token);
        }

        stream.Position = 0;
        return BertTokenizer.Create(stream, options);
    }
}
