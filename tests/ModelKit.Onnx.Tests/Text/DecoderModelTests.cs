using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using ModelKit.ModelGenerator;
using ModelKit.Onnx.Text;

namespace ModelKit.Tests.Text;

/// <summary>The generated GPT-2-style decoders, run on plain ONNX Runtime sessions.</summary>
public sealed class DecoderModelTests : IDisposable
{
    private static readonly DecoderSpec Small = new() { Layers = 2, Hidden = 32, Heads = 4, Vocabulary = 1000, MaxPositions = 64, Seed = 3 };
    private static readonly Lazy<byte[]> SmallModel = new(() => DecoderModels.CreateGpt2Decoder(Small));

    // The reciting decoder's folder (about 120 MB), written once per run beside the tokenizer files (a later run removes it).
    private static readonly Lazy<string> RecitingFolder = new(() =>
    {
        var marker = TokenizerTestFiles.Write("reciting-decoder/.written", "");
        return DecoderModels.WriteRecitingDecoderDirectory(Path.GetDirectoryName(marker)!);
    });

    private readonly TempDirectory _dir = new();

    [Fact]
    public void CreateGpt2Decoder_Signature_IsOptimumsTextGenerationWithPast()
    {
        using var session = new InferenceSession(SmallModel.Value);

        string[] inputs = ["input_ids", "attention_mask", "position_ids", "past_key_values.0.key", "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value"];
        string[] outputs = ["logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"];
        Assert.Equal(inputs, session.InputNames);
        Assert.Equal(outputs, session.OutputNames);
        AssertTensor(session.InputMetadata["input_ids"], typeof(long), ["batch_size", "sequence_length"], [-1, -1]);
        AssertTensor(session.InputMetadata["attention_mask"], typeof(long), ["batch_size", "total_sequence_length"], [-1, -1]);
        AssertTensor(session.InputMetadata["position_ids"], typeof(long), ["batch_size", "sequence_length"], [-1, -1]);
        AssertTensor(session.InputMetadata["past_key_values.1.value"], typeof(float), ["batch_size", "", "past_sequence_length", ""], [-1, 4, -1, 8]);
        AssertTensor(session.OutputMetadata["logits"], typeof(float), ["batch_size", "sequence_length", ""], [-1, -1, 1000]);
        AssertTensor(session.OutputMetadata["present.0.key"], typeof(float), ["batch_size", "", "total_sequence_length", ""], [-1, 4, -1, 8]);
    }

    [Fact]
    public void Run_EmptyPast_GivesLogitsAndPresentOfTheSequence()
    {
        using var decoder = new Decoder(SmallModel.Value, Small);

        var result = decoder.Run([[5, 17, 923]]);

        Assert.Equal([1, 3, 1000], result.LogitsShape);
        Assert.Equal([1, 4, 3, 8], result.Cache.Shape);
        Assert.All(result.Logits, v => Assert.True(float.IsFinite(v)));
        Assert.Contains(result.Logits, v => v != 0);
    }

    [Fact]
    public void Run_PrefillThenStepWithPast_MatchesTheWholeSequenceAtOnce()
    {
        using var decoder = new Decoder(SmallModel.Value, Small);
        long[] ids = [11, 250, 3, 999, 42, 7];

        var whole = decoder.Run([ids]);
        var prefill = decoder.Run([ids[..^1]]);
        var step = decoder.Run([ids[^1..]], prefill.Cache);

        Assert.Equal(6, step.Cache.Length);
        AssertClose(whole.LastLogits(0), step.LastLogits(0), 1e-4f);
        AssertClose(whole.Cache.Keys[1], step.Cache.Keys[1], 1e-5f);
        AssertClose(whole.Cache.Values[0], step.Cache.Values[0], 1e-5f);
    }

    [Fact]
    public void Run_Present_IsThePastThenTheNewKeysAndValues()
    {
        using var decoder = new Decoder(SmallModel.Value, Small);
        var random = new Random(1);
        var past = Cache.Random(Small, batch: 1, length: 3, random);

        var withPast = decoder.Run([[8, 9]], past);
        var alone = decoder.Run([[8, 9]], positions: [[3, 4]]);

        Assert.Equal(5, withPast.Cache.Length);
        for (var layer = 0; layer < Small.Layers; layer++)
        {
            foreach (var (present, pastPart, newPart) in new[]
            {
                (withPast.Cache.Keys[layer], past.Keys[layer], alone.Cache.Keys[layer]),
                (withPast.Cache.Values[layer], past.Values[layer], alone.Cache.Values[layer]),
            })
            {
                for (var head = 0; head < Small.Heads; head++)
                {
                    var hd = Small.Hidden / Small.Heads;
                    var row = head * 5 * hd;
                    Assert.Equal(pastPart.AsSpan(head * 3 * hd, 3 * hd).ToArray(), present.AsSpan(row, 3 * hd).ToArray());

                    // The first layer's new keys and values come from the new tokens alone; later layers' see the past through attention.
                    if (layer == 0) AssertClose(newPart.AsSpan(head * 2 * hd, 2 * hd).ToArray(), present.AsSpan(row + (3 * hd), 2 * hd).ToArray(), 1e-6f);
                }
            }
        }
    }

    [Fact]
    public void Run_BatchOfTwoLengthsWithPadding_GivesEachRowsLogitsAlone()
    {
        using var decoder = new Decoder(SmallModel.Value, Small);
        long[] longer = [31, 415, 9, 26, 535];
        long[] shorter = [897, 93, 238];

        // Prefill: the shorter row padded on the left (mask 0); its positions count from its first real token.
        var aloneLonger = decoder.Run([longer]);
        var aloneShorter = decoder.Run([shorter]);
        var batch = decoder.Run(
            [longer, [0, 0, .. shorter]],
            masks: [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]],
            positions: [[0, 1, 2, 3, 4], [0, 0, 0, 1, 2]]);
        AssertClose(aloneLonger.LastLogits(0), batch.LastLogits(0), 1e-4f);
        AssertClose(aloneShorter.LastLogits(0), batch.LastLogits(1), 1e-4f);

        // A step with each row's own cache merged into one: the shorter row's past ends in two padded slots (zeros,
        // masked) in the middle of its cache, and its new token sits after them at its own position 3.
        var merged = Cache.Concat(aloneLonger.Cache, aloneShorter.Cache.PadTo(5));
        var stepBatch = decoder.Run([[77], [78]], merged, masks: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 1]], positions: [[5], [3]]);
        var stepLonger = decoder.Run([[77]], aloneLonger.Cache);
        var stepShorter = decoder.Run([[78]], aloneShorter.Cache);
        AssertClose(stepLonger.LastLogits(0), stepBatch.LastLogits(0), 1e-4f);
        AssertClose(stepShorter.LastLogits(0), stepBatch.LastLogits(1), 1e-4f);
    }

    [Fact]
    public void Run_EveryKeyMasked_GivesFiniteLogits()
    {
        using var decoder = new Decoder(SmallModel.Value, Small);

        var result = decoder.Run([[4, 5, 6]], masks: [[0, 0, 0]]);

        Assert.All(result.Logits, v => Assert.True(float.IsFinite(v), $"logit {v} is not finite"));
    }

    [Fact]
    public void CreateGpt2Decoder_HeadsNotDividingHidden_ThrowsNamingBoth()
    {
        var error = Assert.Throws<ArgumentException>(() => DecoderModels.CreateGpt2Decoder(new DecoderSpec { Hidden = 30, Heads = 4, Layers = 0 }));

        Assert.Contains("Heads is 4; it must be at least 1 and divide Hidden (30)", error.Message, StringComparison.Ordinal);
        Assert.Contains("Layers is 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteGpt2DecoderDirectory_Folder_HasGpt2sTokenizerAndConfig()
    {
        var spec = new DecoderSpec { Layers = 1, Hidden = 16, Heads = 2 };

        var folder = DecoderModels.WriteGpt2DecoderDirectory(_dir.Combine("gpt2"), spec);

        Assert.Equal(DecoderModels.DirectoryFiles.Order(StringComparer.Ordinal), Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var tokenizer = ModelTokenizers.LoadFromDirectory(folder);
        Assert.NotNull(tokenizer);
        Assert.Equal("bpe", tokenizer.Format);
        Assert.Equal(50257, tokenizer.VocabularySize);
        Assert.Equal(1024, tokenizer.ModelMaxLength);
        Assert.Equal(50256, tokenizer.PadTokenId);
        Assert.Equal([15496, 995, 11, 428, 318, 9104, 20827, 13], tokenizer.Encode("Hello world, this is ModelKit.", 1024).Ids);
        Assert.Equal([289, 2634, 18798, 32485, 995, 628, 220, 22524, 197, 392, 220, 9029], tokenizer.Encode(" héllo 🙂 world\n\n  tabs\tand  spaces", 1024).Ids);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        Assert.Equal("gpt2", (string?)config["model_type"]);
        Assert.Equal((1, 2, 16, 1024, 1024, 50257, 50256, 50256), ((int)config["n_layer"]!, (int)config["n_head"]!, (int)config["n_embd"]!,
            (int)config["n_positions"]!, (int)config["n_ctx"]!, (int)config["vocab_size"]!, (int)config["bos_token_id"]!, (int)config["eos_token_id"]!));
        var generation = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "generation_config.json")))!;
        Assert.Equal((50256, 50256), ((int)generation["bos_token_id"]!, (int)generation["eos_token_id"]!));
        var tokenizerConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")))!;
        Assert.Equal("<|endoftext|>", (string?)tokenizerConfig["eos_token"]);
        Assert.Equal("<|endoftext|>", (string?)tokenizerConfig["bos_token"]);
        Assert.StartsWith("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'", (string?)tokenizerConfig["chat_template"], StringComparison.Ordinal);

        using var session = new InferenceSession(Path.Combine(folder, "model.onnx"));
        AssertTensor(session.OutputMetadata["logits"], typeof(float), ["batch_size", "sequence_length", ""], [-1, -1, 50257]);
    }

    [Fact]
    public void WriteGpt2DecoderDirectory_VocabAndMerges_EqualTheNpmOriginals()
    {
        var folder = DecoderModels.WriteGpt2DecoderDirectory(_dir.Combine("gpt2"), new DecoderSpec { Layers = 1, Hidden = 8, Heads = 1 });

        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(folder, "vocab.json")))!;
        var original = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(TokenizerTestFiles.Gpt2Vocab))!;
        Assert.Equal(50257, vocab.Count);
        Assert.Equal(original.OrderBy(e => e.Value), vocab.OrderBy(e => e.Value));
        var merges = File.ReadAllLines(Path.Combine(folder, "merges.txt"));
        var originalMerges = File.ReadAllLines(TokenizerTestFiles.Gpt2Merges);
        Assert.Equal("#version: 0.2", merges[0]);
        Assert.Equal(50000, merges.Length - 1);
        Assert.Equal(originalMerges.Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)), merges.Skip(1));
    }

    [Fact]
    public void WriteGpt2DecoderDirectory_VocabularyBelowGpt2s_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => DecoderModels.WriteGpt2DecoderDirectory(_dir.Combine("small"), Small));

        Assert.Contains("Vocabulary is 1000", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.Combine("small")));
    }

    [Fact]
    public void CreateRecitingDecoder_GreedyFromTheFirstFiveWords_RecitesTheRestOfTheAddress()
    {
        var tokenizer = ModelTokenizers.LoadFromDirectory(RecitingFolder.Value)!;
        var spec = ReadSpec(RecitingFolder.Value);
        using var decoder = new Decoder(File.ReadAllBytes(Path.Combine(RecitingFolder.Value, "model.onnx")), spec);
        var text = tokenizer.Encode(DecoderModels.GettysburgAddress, 1024).Ids;
        var prompt = tokenizer.Encode("Four score and seven years", 1024).Ids;
        Assert.Equal(text[..prompt.Length], prompt);

        var generated = decoder.Greedy([[.. prompt.Select(i => (long)i)]], maxTokens: 400, out var leastProbability)[0];

        Assert.Equal([.. text[prompt.Length..], DecoderModels.EndOfTextTokenId], generated);
        Assert.True(generated.Count > 300);
        Assert.True(leastProbability > 0.999, $"A chosen token had probability {leastProbability}; sampling would stray from the text.");
        Assert.Equal(DecoderModels.GettysburgAddress, "Four score and seven years" + tokenizer.Tokenizer.Decode(generated.SkipLast(1)));
        Assert.Equal((1, 4, 512, 1024), (spec.Layers, spec.Heads, spec.Hidden, spec.MaxPositions));
    }

    [Fact]
    public void CreateRecitingDecoder_BatchOfTwoPassagesLeftPadded_ContinuesEach()
    {
        var tokenizer = ModelTokenizers.LoadFromDirectory(RecitingFolder.Value)!;
        using var decoder = new Decoder(File.ReadAllBytes(Path.Combine(RecitingFolder.Value, "model.onnx")), ReadSpec(RecitingFolder.Value));
        var text = tokenizer.Encode(DecoderModels.GettysburgAddress, 1024).Ids.Select(i => (long)i).ToArray();
        var first = text[..6];
        var second = text[200..203]; // three tokens from the middle of the third paragraph

        var generated = decoder.Greedy([first, second], maxTokens: 40);

        Assert.Equal(text[6..46].Select(i => (int)i), generated[0]);
        Assert.Equal(text[203..243].Select(i => (int)i), generated[1]);
    }

    [Fact]
    public void CreateRecitingDecoder_PromptOutsideTheText_StartsFromTheBeginning()
    {
        var tokenizer = ModelTokenizers.LoadFromDirectory(RecitingFolder.Value)!;
        using var decoder = new Decoder(File.ReadAllBytes(Path.Combine(RecitingFolder.Value, "model.onnx")), ReadSpec(RecitingFolder.Value));

        var generated = decoder.Greedy([[.. tokenizer.Encode("Hello, robot", 1024).Ids.Select(i => (long)i)]], maxTokens: 6)[0];

        Assert.Equal("Four score and seven years ago", tokenizer.Tokenizer.Decode(generated));
    }

    public void Dispose() => _dir.Dispose();

    private static DecoderSpec ReadSpec(string folder)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        return new DecoderSpec
        {
            Layers = (int)config["n_layer"]!, Hidden = (int)config["n_embd"]!, Heads = (int)config["n_head"]!,
            Vocabulary = (int)config["vocab_size"]!, MaxPositions = (int)config["n_positions"]!,
        };
    }

    private static void AssertTensor(NodeMetadata metadata, Type elementType, string[] symbolic, int[] dims)
    {
        Assert.True(metadata.IsTensor);
        Assert.Equal(elementType, metadata.ElementType);
        Assert.Equal(dims, metadata.Dimensions);
        Assert.Equal(symbolic, metadata.SymbolicDimensions);
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (MathF.Abs(expected[i] - actual[i]) > tolerance) Assert.Fail($"Element {i}: expected {expected[i]}, got {actual[i]} (tolerance {tolerance}).");
        }
    }

    /// <summary>The key/value cache of every layer: float[batch, heads, length, head_dim] each.</summary>
    private sealed record Cache(float[][] Keys, float[][] Values, int Batch, int Heads, int Length, int HeadSize)
    {
        public long[] Shape => [Batch, Heads, Length, HeadSize];

        public static Cache Empty(DecoderSpec spec, int batch) => Random(spec, batch, 0, new Random(0));

        public static Cache Random(DecoderSpec spec, int batch, int length, Random random)
        {
            var size = batch * spec.Heads * length * (spec.Hidden / spec.Heads);
            float[] Fill()
            {
                var values = new float[size];
                for (var i = 0; i < size; i++) values[i] = (float)(random.NextDouble() - 0.5);
                return values;
            }

            var keys = new float[spec.Layers][];
            var values = new float[spec.Layers][];
            for (var l = 0; l < spec.Layers; l++) (keys[l], values[l]) = (Fill(), Fill());
            return new Cache(keys, values, batch, spec.Heads, length, spec.Hidden / spec.Heads);
        }

        // This single row's cache with zeros after it up to `length`.
        public Cache PadTo(int length)
        {
            float[] Pad(float[] source)
            {
                var padded = new float[Batch * Heads * length * HeadSize];
                for (var row = 0; row < Batch * Heads; row++) source.AsSpan(row * Length * HeadSize, Length * HeadSize).CopyTo(padded.AsSpan(row * length * HeadSize));
                return padded;
            }

            return this with { Keys = [.. Keys.Select(Pad)], Values = [.. Values.Select(Pad)], Length = length };
        }

        public static Cache Concat(Cache first, Cache second) =>
            first with
            {
                Keys = [.. first.Keys.Zip(second.Keys, (a, b) => a.Concat(b).ToArray())],
                Values = [.. first.Values.Zip(second.Values, (a, b) => a.Concat(b).ToArray())],
                Batch = first.Batch + second.Batch,
            };
    }

    private sealed record Result(float[] Logits, long[] LogitsShape, Cache Cache)
    {
        public float[] LastLogits(int row)
        {
            var (sequence, vocabulary) = ((int)LogitsShape[1], (int)LogitsShape[2]);
            return Logits.AsSpan(((row * sequence) + sequence - 1) * vocabulary, vocabulary).ToArray();
        }
    }

    /// <summary>A session on a generated decoder that runs rows of ids with a cache.</summary>
    private sealed class Decoder : IDisposable
    {
        private readonly DecoderSpec _spec;
        private readonly SessionOptions _options = new() { IntraOpNumThreads = 1 };
        private readonly InferenceSession _session;

        public Decoder(byte[] model, DecoderSpec spec)
        {
            _spec = spec;
            _session = new InferenceSession(model, _options);
        }

        /// <summary>
        /// Runs the rows (all of one length) after <paramref name="past"/> (empty when null). Default mask: all ones;
        /// default positions: the past's length on.
        /// </summary>
        public Result Run(long[][] ids, Cache? past = null, long[][]? masks = null, long[][]? positions = null)
        {
            var (batch, sequence) = (ids.Length, ids[0].Length);
            past ??= Cache.Empty(_spec, batch);
            var total = past.Length + sequence;
            masks ??= [.. Enumerable.Repeat(Enumerable.Repeat(1L, total).ToArray(), batch)];
            positions ??= [.. Enumerable.Repeat(Enumerable.Range(past.Length, sequence).Select(p => (long)p).ToArray(), batch)];

            var names = new List<string> { "input_ids", "attention_mask", "position_ids" };
            var values = new List<OrtValue>
            {
                OrtValue.CreateTensorValueFromMemory(ids.SelectMany(r => r).ToArray(), [batch, sequence]),
                OrtValue.CreateTensorValueFromMemory(masks.SelectMany(r => r).ToArray(), [batch, masks[0].Length]),
                OrtValue.CreateTensorValueFromMemory(positions.SelectMany(r => r).ToArray(), [batch, sequence]),
            };
            for (var l = 0; l < _spec.Layers; l++)
            {
                names.Add($"past_key_values.{l}.key");
                values.Add(OrtValue.CreateTensorValueFromMemory(past.Keys[l], past.Shape));
                names.Add($"past_key_values.{l}.value");
                values.Add(OrtValue.CreateTensorValueFromMemory(past.Values[l], past.Shape));
            }

            try
            {
                using var runOptions = new RunOptions();
                using var outputs = _session.Run(runOptions, names, values, _session.OutputNames);
                var keys = new float[_spec.Layers][];
                var presentValues = new float[_spec.Layers][];
                for (var l = 0; l < _spec.Layers; l++)
                {
                    keys[l] = outputs[1 + (2 * l)].GetTensorDataAsSpan<float>().ToArray();
                    presentValues[l] = outputs[2 + (2 * l)].GetTensorDataAsSpan<float>().ToArray();
                }

                var presentShape = outputs[1].GetTensorTypeAndShape().Shape;
                Assert.Equal([batch, _spec.Heads, total, _spec.Hidden / _spec.Heads], presentShape);
                return new Result(
                    outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[0].GetTensorTypeAndShape().Shape,
                    new Cache(keys, presentValues, batch, _spec.Heads, total, _spec.Hidden / _spec.Heads));
            }
            finally
            {
                foreach (var value in values) value.Dispose();
            }
        }

        /// <summary>
        /// Greedy decoding with the cache: the prompts left-padded to one length (mask 0, position 0 on the pads), then
        /// one token per row per step, each the argmax of its row's last logits; <paramref name="maxTokens"/> per row.
        /// </summary>
        public List<List<int>> Greedy(long[][] prompts, int maxTokens) => Greedy(prompts, maxTokens, out _);

        /// <summary>Greedy decoding; <paramref name="leastProbability"/> is the lowest softmax probability of a chosen token.</summary>
        public List<List<int>> Greedy(long[][] prompts, int maxTokens, out double leastProbability)
        {
            leastProbability = 1;
            var longest = prompts.Max(p => p.Length);
            var ids = prompts.Select(p => new long[longest - p.Length].Concat(p).ToArray()).ToArray();
            var masks = prompts.Select(p => Enumerable.Repeat(0L, longest - p.Length).Concat(Enumerable.Repeat(1L, p.Length)).ToList()).ToArray();
            var positions = prompts.Select(p => new long[longest - p.Length].Concat(Enumerable.Range(0, p.Length).Select(i => (long)i)).ToArray()).ToArray();
            var next = prompts.Select(p => (long)p.Length).ToArray();
            var generated = prompts.Select(_ => new List<int>()).ToList();
            var result = Run(ids, masks: [.. masks.Select(m => m.ToArray())], positions: positions);
            for (var step = 0; step < maxTokens; step++)
            {
                var tokens = new long[prompts.Length][];
                for (var row = 0; row < prompts.Length; row++)
                {
                    var logits = result.LastLogits(row);
                    var best = 0;
                    for (var i = 1; i < logits.Length; i++)
                    {
                        if (logits[i] > logits[best]) best = i;
                    }

                    var sum = 0.0;
                    foreach (var logit in logits) sum += Math.Exp(logit - logits[best]);
                    leastProbability = Math.Min(leastProbability, 1 / sum);
                    generated[row].Add(best);
                    tokens[row] = [best];
                    masks[row].Add(1);
                }

                if (generated.TrueForAll(g => g[^1] == DecoderModels.EndOfTextTokenId) || step == maxTokens - 1) break;
                result = Run(tokens, result.Cache, [.. masks.Select(m => m.ToArray())], [.. next.Select(p => new[] { p })]);
                for (var row = 0; row < next.Length; row++) next[row]++;
            }

            return generated;
        }

        public void Dispose()
        {
            _session.Dispose();
            _options.Dispose();
        }
    }
}
