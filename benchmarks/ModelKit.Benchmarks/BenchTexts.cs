using Microsoft.ML.Tokenizers;

namespace ModelKit.Benchmarks;

/// <summary>
/// Real-looking English sentences made from word lists with a seeded <see cref="Random"/> (no copied corpus): the same
/// seed gives the same texts on every machine. Each text is built to a target length in tokens of the given tokenizer,
/// special tokens included, drawn uniformly from a range.
/// </summary>
internal static class BenchTexts
{
    private static readonly string[] Names = ["Anna", "the committee", "my neighbour", "the old farmer", "our teacher", "the pilot", "Maria", "the young engineer", "the mayor", "David", "the nurse", "a stranger", "the museum guide", "the team"];
    private static readonly string[] Adjectives = ["small", "quiet", "bright", "heavy", "ancient", "crowded", "narrow", "wooden", "distant", "careful", "sudden", "cheerful", "broken", "golden", "muddy", "busy", "gentle", "strange", "empty", "famous", "rainy", "modern", "tired", "curious", "local", "fresh", "dark", "hidden", "simple", "expensive"];
    private static readonly string[] Nouns = ["river", "village", "market", "bridge", "garden", "train", "letter", "report", "kitchen", "window", "mountain", "library", "festival", "harbour", "storm", "engine", "painting", "forest", "meeting", "budget", "road", "school", "hospital", "recipe", "museum", "station", "contract", "island", "orchestra", "factory", "bicycle", "newspaper", "experiment", "castle", "ferry", "vineyard", "council", "theatre", "laboratory", "warehouse"];
    private static readonly string[] Verbs = ["crossed", "visited", "repaired", "described", "painted", "opened", "watched", "cleaned", "delivered", "measured", "explored", "ordered", "photographed", "announced", "inspected", "rebuilt", "carried", "discovered", "cancelled", "approved", "borrowed", "followed", "questioned", "celebrated", "finished"];
    private static readonly string[] Intransitive = ["arrived", "waited", "laughed", "disappeared", "slept", "hesitated", "agreed", "returned", "complained", "smiled", "collapsed", "improved"];
    private static readonly string[] Adverbs = ["slowly", "quickly", "carefully", "eventually", "quietly", "almost immediately", "once again", "without a word", "late in the evening", "early that morning", "for the first time"];
    private static readonly string[] Prepositions = ["near", "behind", "across", "inside", "beyond", "along", "under", "above", "beside", "towards"];
    private static readonly string[] Connectors = ["because", "although", "while", "after", "before", "until", "so that", "even though"];
    private static readonly string[] Openers = ["Yesterday", "In the spring", "According to the report", "On Tuesday", "Last year", "By noon", "Later that week", "As usual", "For several hours", "Meanwhile"];

    /// <summary>
    /// <paramref name="count"/> texts whose token counts (with <c>[CLS]</c> and <c>[SEP]</c>) lie in
    /// [<paramref name="minTokens"/>, <paramref name="maxTokens"/>], targets drawn uniformly from that range.
    /// </summary>
    public static string[] Create(BertTokenizer tokenizer, int count, int minTokens, int maxTokens, int seed)
    {
        var random = new Random(seed);
        var texts = new string[count];
        var wordTokens = new Dictionary<string, int>(StringComparer.Ordinal);
        int TokensOf(string word)
        {
            if (!wordTokens.TryGetValue(word, out var n)) wordTokens[word] = n = tokenizer.EncodeToIds(word, addSpecialTokens: false).Count;
            return n;
        }

        for (var i = 0; i < count;)
        {
            var target = random.Next(minTokens, maxTokens + 1);
            var words = new List<string>();
            var tokens = 2; // [CLS] … [SEP]
            var sentence = new Queue<string>();
            while (true)
            {
                if (sentence.Count == 0)
                {
                    foreach (var w in Sentence(random).Split(' ')) sentence.Enqueue(w);
                }

                var word = sentence.Peek();
                var cost = TokensOf(word);
                if (tokens + cost > target) break;
                words.Add(sentence.Dequeue());
                tokens += cost;
            }

            // End on a full stop when the cut fell inside a sentence and a token is left for it; else drop a word for it.
            var last = words.Count > 0 ? words[^1] : "";
            if (!(last.EndsWith('.') || last.EndsWith('?')))
            {
                while (words.Count > 1 && tokens + 1 > target)
                {
                    tokens -= TokensOf(words[^1]);
                    words.RemoveAt(words.Count - 1);
                }

                words[^1] = words[^1].TrimEnd(',') + ".";
            }

            var text = string.Join(' ', words);
            var actual = tokenizer.EncodeToIds(text, addSpecialTokens: true).Count;
            if (actual < minTokens || actual > maxTokens) continue; // rare: a cut that could not land in range
            texts[i++] = text;
        }

        return texts;
    }

    private static string Sentence(Random r)
    {
        string Pick(string[] list) => list[r.Next(list.Length)];
        string Np() => r.Next(3) == 0 ? $"the {Pick(Nouns)}" : $"the {Pick(Adjectives)} {Pick(Nouns)}";
        string Cap(string s) => char.ToUpperInvariant(s[0]) + s[1..];
        return r.Next(6) switch
        {
            0 => $"{Cap(Pick(Names))} {Pick(Verbs)} {Np()} {Pick(Prepositions)} {Np()}.",
            1 => $"{Pick(Openers)}, {Pick(Names)} {Pick(Verbs)} {Np()} {Pick(Adverbs)}.",
            2 => $"{Cap(Np())} {Pick(Intransitive)} {Pick(Connectors)} {Pick(Names)} {Pick(Verbs)} {Np()}.",
            3 => $"Why did {Pick(Names)} leave {Np()} {Pick(Prepositions)} {Np()}?",
            4 => $"{Cap(Pick(Names))} {Pick(Intransitive)} {Pick(Adverbs)}, and {Np()} {Pick(Intransitive)} {Pick(Prepositions)} {Np()}.",
            _ => $"{Cap(Np())} {Pick(Prepositions)} {Np()} was {Pick(Adjectives)} and {Pick(Adjectives)}.",
        };
    }
}
