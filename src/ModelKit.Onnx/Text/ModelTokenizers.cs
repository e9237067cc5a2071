using ModelKit.Registry;

namespace ModelKit.Onnx.Text;

/// <summary>
/// Chooses and loads a model's tokenizer from the files stored with its version, in this order of preference:
/// Hugging Face <c>tokenizer.json</c> (WordPiece or BPE), SentencePiece <c>tokenizer.model</c>, a tiktoken
/// <c>*.tiktoken</c> ranks file, GPT-2 style <c>vocab.json</c> with <c>merges.txt</c> (byte-level BPE), BERT
/// <c>vocab.txt</c> (WordPiece). Hugging Face <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c>, where
/// present, give lower-casing, the special tokens and the model's maximum length.
/// </summary>
public static class ModelTokenizers
{
    /// <summary>
    /// How long one match of a regular expression read from a model's files (a <c>tokenizer.json</c>'s Split
    /// pre-tokenizer or Replace normalizer) may take: a pattern that backtracks without end fails the text instead of
    /// holding a core.
    /// </summary>
    internal static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>A version's artifact files as <see cref="Load(IReadOnlyDictionary{string, string})"/> takes them: name as uploaded → path.</summary>
    internal static Dictionary<string, string> FilesOf(IReadOnlyList<ModelArtifactFile> files)
    {
        var byName = new Dictionary<string, string>(files.Count, StringComparer.Ordinal);
        foreach (var file in files) byName[file.Name] = file.Path;
        return byName;
    }

    /// <summary>Loads the tokenizer from the files in <paramref name="directory"/> (its subfolders included); null when there is none.</summary>
    /// <exception cref="InvalidModelConfigException">A tokenizer file is there but cannot be read.</exception>
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
    /// Loads the tokenizer from files named as uploaded (<c>tokenizer.json</c>, <c>tokenizer/vocab.txt</c> …) and where
    /// each lies on disk; null when none of them is a tokenizer.
    /// </summary>
    /// <exception cref="InvalidModelConfigException">A tokenizer file is there but cannot be read, or is of a kind ModelKit does not support.</exception>
    public static ModelTokenizer? Load(IReadOnlyDictionary<string, string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var source = "tokenizer_config.json";
        try
        {
            var config = TokenizerConfig.Read(files);
            if (Find(files, "tokenizer.json") is { } json)
            {
                source = json.Name;
                return HuggingFaceTokenizerJson.Load(json, config, Find(files, "tokenizer.model"));
            }

            if (Find(files, "tokenizer.model") is { } model)
            {
                source = model.Name;
                return SentencePieceTokenizerLoader.Load(model, config);
            }

            if (FindByExtension(files, ".tiktoken") is { } ranks)
            {
                source = ranks.Name;
                return TiktokenTokenizerLoader.Load(ranks, config);
            }

            if (Find(files, "vocab.json") is { } vocabJson && Find(files, "merges.txt") is { } merges)
            {
                source = vocabJson.Name + " and " + merges.Name;
                return BpeTokenizerLoader.LoadGpt2(vocabJson, merges, config);
            }

            if (Find(files, "vocab.txt") is { } vocab)
            {
                source = vocab.Name;
                return WordPieceTokenizerLoader.Load(vocab, config);
            }
        }
        catch (Exception ex) when (ex is not InvalidModelConfigException and not OperationCanceledException and not OutOfMemoryException)
        {
            // The files come from whoever uploaded the model: anything the parsers throw on them is a bad upload. The
            // message names the files as uploaded, never where they lie on this machine.
            var reason = ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException || ex.GetType() == typeof(IOException)
                ? "the file could not be opened"
                : WithoutPaths(ex.Message, files);
            throw new InvalidModelConfigException($"The model's tokenizer files could not be read: {source}: {reason}", ex);
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

    // The first file (in name order, so the choice does not depend on the dictionary's order) whose name ends in `extension`.
    internal static (string Name, string Path)? FindByExtension(IReadOnlyDictionary<string, string> files, string extension)
    {
        (string Name, string Path)? found = null;
        foreach (var (key, path) in files)
        {
            if (key.EndsWith(extension, StringComparison.OrdinalIgnoreCase) && (found is null || string.CompareOrdinal(key, found.Value.Name) < 0))
            {
                found = (key, path);
            }
        }

        return found;
    }

    // A parser's message with every file's disk path replaced by its uploaded name.
    private static string WithoutPaths(string message, IReadOnlyDictionary<string, string> files)
    {
        foreach (var (name, path) in files)
        {
            if (path.Length > 0) message = message.Replace(path, name, StringComparison.Ordinal);
        }

        return message;
    }
}
