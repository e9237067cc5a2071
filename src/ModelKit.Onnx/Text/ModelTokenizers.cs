using System.Text.Json;
using Microsoft.ML.Tokenizers;
using ModelKit.Registry;

namespace ModelKit.Onnx.Text;

/// <summary>
/// Chooses and loads a model's tokenizer from the files stored with its version: <c>vocab.txt</c> (BERT WordPiece).
/// Hugging Face <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c>, where present, give lower-casing, the
/// special tokens and the model's maximum length.
/// </summary>
public static class ModelTokenizers
{
    /// <summary>Loads the tokenizer of a model version from its artifact files; null when none of them is a tokenizer.</summary>
    public static ModelTokenizer? Load(IReadOnlyList<ModelArtifactFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in files) byName[file.Name] = file.Path;
        return Load(byName);
    }

    /// <summary>Loads the tokenizer from the files in <paramref name="directory"/> (its subfolders included); null when there is none.</summary>
    public static ModelTokenizer? LoadFromDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            byName[Path.GetRelativePath(directory, path).Replace(Path.DirectorySeparatorChar, '/')] = path;
        }

        return Load(byName);
    }

    /// <summary>
    /// Loads the tokenizer from files named as uploaded (<c>vocab.txt</c>, <c>tokenizer/vocab.txt</c> …) and where each
    /// lies on disk; null when none of them is a tokenizer.
    /// </summary>
    /// <exception cref="InvalidModelConfigException">A tokenizer file is there but cannot be read.</exception>
    public static ModelTokenizer? Load(IReadOnlyDictionary<string, string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var config = TokenizerConfig.Read(files);
        try
        {
            if (Find(files, "vocab.txt") is { } vocab) return LoadWordPiece(vocab, config);
        }
        catch (Exception ex) when (ex is IOException or FormatException or ArgumentException or InvalidOperationException or JsonException)
        {
            throw new InvalidModelConfigException($"The model's tokenizer files could not be read: {ex.Message}", ex);
        }

        return null;
    }

    // The file named `name` at the top, else in a subfolder (tokenizer/vocab.txt); its (name, path).
    internal static (string Name, string Path)? Find(IReadOnlyDictionary<string, string> files, string name)
    {
        if (files.TryGetValue(name, out var top)) return (name, top);
        foreach (var (key, path) in files)
        {
            if (key.EndsWith("/" + name, StringComparison.Ordinal)) return (key, path);
        }

        return null;
    }

    private static ModelTokenizer LoadWordPiece((string Name, string Path) vocab, TokenizerConfig config)
    {
        var options = new BertOptions
        {
            LowerCaseBeforeTokenization = config.DoLowerCase ?? true,
            UnknownToken = config.UnknownToken ?? "[UNK]",
            ClassificationToken = config.ClassificationToken ?? "[CLS]",
            SeparatorToken = config.SeparatorToken ?? "[SEP]",
            PaddingToken = config.PaddingToken ?? "[PAD]",
            MaskingToken = config.MaskToken ?? "[MASK]",
        };
        var tokenizer = BertTokenizer.Create(vocab.Path, options);
        var size = CountLines(vocab.Path);
        return new ModelTokenizer(
            tokenizer, "wordpiece", vocab.Name, size, [tokenizer.ClassificationTokenId], [tokenizer.SeparatorTokenId], tokenizer.PaddingTokenId, config.ModelMaxLength);
    }

    private static int CountLines(string path)
    {
        var count = 0;
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length > 0) count++;
        }

        return count;
    }
}
