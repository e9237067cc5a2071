using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using ModelKit.Text;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>
/// Picks one choice's next token from the model's logits with OpenAI's sampling parameters: presence and frequency
/// penalties from the tokens generated so far, then temperature (0: the most likely token), then top-k, then top-p
/// (nucleus) over the sorted probabilities, then a draw from the sampler's own seeded generator, so that the same seed
/// gives the same tokens whatever else runs at the same time. Not thread-safe: one per choice.
/// </summary>
internal sealed class TokenSampler
{
    // Top-p's histogram: this many buckets over this many nats below the top logit.
    private const int NucleusBuckets = 2048;
    private const float NucleusRange = 64;

    private readonly float _temperature;
    private readonly float _topP;
    private readonly int _topK;
    private readonly float _presencePenalty;
    private readonly float _frequencyPenalty;
    private readonly Dictionary<int, int>? _counts;
    private Xoshiro256StarStar _random;

    /// <summary>A sampler with these parameters.</summary>
    /// <param name="temperature">0–2; 0 picks the most likely token (ties: the lowest id) and draws nothing.</param>
    /// <param name="topP">(0, 1]; 1 keeps every token.</param>
    /// <param name="topK">How many most likely tokens to keep; 0 or less: no limit.</param>
    /// <param name="presencePenalty">−2–2, subtracted once from the logit of every token generated so far.</param>
    /// <param name="frequencyPenalty">−2–2, subtracted from a token's logit once per time it was generated.</param>
    /// <param name="seed">Seeds the sampler's random generator.</param>
    public TokenSampler(float temperature, float topP, int topK, float presencePenalty, float frequencyPenalty, ulong seed)
    {
        if (!(temperature is >= 0 and <= 2)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature is 0 to 2.");
        if (!(topP is > 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(topP), topP, "Top-p is above 0, up to 1.");
        if (!(presencePenalty is >= -2 and <= 2)) throw new ArgumentOutOfRangeException(nameof(presencePenalty), presencePenalty, "The presence penalty is -2 to 2.");
        if (!(frequencyPenalty is >= -2 and <= 2)) throw new ArgumentOutOfRangeException(nameof(frequencyPenalty), frequencyPenalty, "The frequency penalty is -2 to 2.");
        _temperature = temperature;
        _topP = topP;
        _topK = topK <= 0 ? int.MaxValue : topK;
        _presencePenalty = presencePenalty;
        _frequencyPenalty = frequencyPenalty;
        _counts = presencePenalty != 0 || frequencyPenalty != 0 ? [] : null;
        _random = new Xoshiro256StarStar(seed);
    }

    /// <summary>
    /// The sampler for choice <paramref name="choiceIndex"/> of <paramref name="request"/> (its parameters validated by
    /// <see cref="TextGenerationParameters.Validate"/>): null temperature and top-p are 1, null top-k is no limit, and each
    /// choice draws from its own generator (seeded from the request's seed and the index; a random seed without one).
    /// </summary>
    public static TokenSampler ForChoice(TextGenerationRequest request, int choiceIndex)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new TokenSampler(
            request.Temperature ?? 1, request.TopP ?? 1, request.TopK ?? 0, request.PresencePenalty, request.FrequencyPenalty, SeedFor(request.Seed, choiceIndex));
    }

    /// <summary>Choice <paramref name="choiceIndex"/>'s seed: mixed from <paramref name="seed"/>, or random when it is null.</summary>
    public static ulong SeedFor(long? seed, int choiceIndex)
    {
        if (seed is not { } s)
        {
            Span<byte> bytes = stackalloc byte[8];
            RandomNumberGenerator.Fill(bytes);
            return BitConverter.ToUInt64(bytes);
        }

        var state = unchecked((ulong)s + (ulong)choiceIndex * 0x9E3779B97F4A7C15UL);
        return SplitMix64(ref state);
    }

    /// <summary>
    /// Picks the next token. <paramref name="logits"/> (one per vocabulary id) is changed in place: penalties, then
    /// divided by the temperature. Compute log-probabilities (<see cref="LogProbs"/>) from a copy taken before.
    /// </summary>
    public int Sample(Span<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("There are no logits to sample from.", nameof(logits));
        if (_counts is not null)
        {
            foreach (var (id, count) in _counts)
            {
                if ((uint)id < (uint)logits.Length) logits[id] -= _frequencyPenalty * count + _presencePenalty;
            }
        }

        if (_temperature == 0 || _topK == 1) return ArgMax(logits, out _);
        TensorPrimitives.Divide(logits, _temperature, logits);
        var best = ArgMax(logits, out var max);
        if (float.IsNegativeInfinity(max)) return best; // every token masked: nothing to draw from
        if (_topK >= logits.Length && _topP >= 1) return SampleAll(logits, max);
        return _topK < logits.Length ? SampleTopK(logits, max) : SampleNucleus(logits, max);
    }

    /// <summary>Records a generated token for the penalties.</summary>
    public void Accept(int tokenId)
    {
        if (_counts is null) return;
        CollectionsMarshal.GetValueRefOrAddDefault(_counts, tokenId, out _)++;
    }

    /// <summary>The first position of the highest value, NaN replaced by negative infinity on the way.</summary>
    private static int ArgMax(Span<float> logits, out float max)
    {
        // Vectorized; it stops at the first NaN, which then sends every value through the slow loop below.
        var first = TensorPrimitives.IndexOfMax<float>(logits);
        max = logits[first];
        if (!float.IsNaN(max)) return first;

        var best = 0;
        max = float.NegativeInfinity;
        for (var i = 0; i < logits.Length; i++)
        {
            var value = logits[i];
            if (float.IsNaN(value))
            {
                logits[i] = float.NegativeInfinity;
            }
            else if (value > max)
            {
                max = value;
                best = i;
            }
        }

        return best;
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best]) best = i;
        }

        return best;
    }

    // No top-k, no top-p: draw from the whole softmax.
    private int SampleAll(ReadOnlySpan<float> logits, float max)
    {
        var rented = ArrayPool<float>.Shared.Rent(logits.Length);
        try
        {
            var weights = rented.AsSpan(0, logits.Length);
            TensorPrimitives.Subtract(logits, max, weights);
            TensorPrimitives.Exp(weights, weights);
            var target = _random.NextDouble() * TensorPrimitives.Sum<float>(weights);
            double cumulative = 0;
            var last = 0;
            for (var i = 0; i < weights.Length; i++)
            {
                if (weights[i] == 0) continue;
                cumulative += weights[i];
                last = i;
                if (target < cumulative) return i;
            }

            return last; // rounding left the target past the sum
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    // Top-k (with top-p within it): the k most likely, their probabilities renormalized among themselves.
    private int SampleTopK(ReadOnlySpan<float> logits, float max)
    {
        var rented = ArrayPool<Candidate>.Shared.Rent(_topK);
        try
        {
            var candidates = rented.AsSpan(0, SelectTop(logits, rented.AsSpan(0, _topK)));
            double total = 0;
            for (var i = 0; i < candidates.Length; i++)
            {
                candidates[i].Weight = MathF.Exp(candidates[i].Logit - max);
                total += candidates[i].Weight;
            }

            return Draw(candidates, total);
        }
        finally
        {
            ArrayPool<Candidate>.Shared.Return(rented);
        }
    }

    // Top-p alone, without sorting the vocabulary: a histogram of the probabilities by how far below the top logit
    // each lies finds the bucket where the cumulative probability reaches top-p; every token above it is in the
    // nucleus whatever its order, and only that bucket's tokens are sorted to cut it exactly.
    private int SampleNucleus(ReadOnlySpan<float> logits, float max)
    {
        var rentedWeights = ArrayPool<float>.Shared.Rent(logits.Length);
        var bucketWeights = ArrayPool<double>.Shared.Rent(NucleusBuckets);
        var bucketCounts = ArrayPool<int>.Shared.Rent(NucleusBuckets);
        Candidate[]? boundaryTokens = null;
        try
        {
            var weights = rentedWeights.AsSpan(0, logits.Length);
            TensorPrimitives.Subtract(logits, max, weights);
            TensorPrimitives.Exp(weights, weights);
            double total = TensorPrimitives.Sum<float>(weights);
            var buckets = bucketWeights.AsSpan(0, NucleusBuckets);
            var counts = bucketCounts.AsSpan(0, NucleusBuckets);
            buckets.Clear();
            counts.Clear();
            for (var i = 0; i < logits.Length; i++)
            {
                if (weights[i] == 0) continue;
                var b = Bucket(max, logits[i]);
                buckets[b] += weights[i];
                counts[b]++;
            }

            var wanted = _topP * total;
            double above = 0;
            var boundary = NucleusBuckets - 1;
            for (var b = 0; b < NucleusBuckets; b++)
            {
                if (above + buckets[b] >= wanted)
                {
                    boundary = b;
                    break;
                }

                above += buckets[b];
            }

            // The boundary bucket, most likely first: keep the fewest that reach top-p.
            boundaryTokens = ArrayPool<Candidate>.Shared.Rent(Math.Max(counts[boundary], 1));
            var inBoundary = 0;
            for (var i = 0; i < logits.Length; i++)
            {
                if (weights[i] != 0 && Bucket(max, logits[i]) == boundary) boundaryTokens[inBoundary++] = new Candidate(i, logits[i]) { Weight = weights[i] };
            }

            var sorted = boundaryTokens.AsSpan(0, inBoundary);
            sorted.Sort(default(MostLikelyFirst));
            var kept = 0;
            var keptWeight = above;
            while (kept < sorted.Length && (kept == 0 && above == 0 || keptWeight < wanted))
            {
                keptWeight += sorted[kept++].Weight;
            }

            // Draw: the buckets above the boundary in id order, then the kept part of the boundary.
            var target = _random.NextDouble() * keptWeight;
            double cumulative = 0;
            var last = -1;
            if (boundary > 0)
            {
                for (var i = 0; i < logits.Length; i++)
                {
                    if (weights[i] == 0 || Bucket(max, logits[i]) >= boundary) continue;
                    cumulative += weights[i];
                    last = i;
                    if (target < cumulative) return i;
                }
            }

            for (var i = 0; i < kept; i++)
            {
                cumulative += sorted[i].Weight;
                last = sorted[i].Id;
                if (target < cumulative) return last;
            }

            return last >= 0 ? last : ArgMax(logits);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rentedWeights);
            ArrayPool<double>.Shared.Return(bucketWeights);
            ArrayPool<int>.Shared.Return(bucketCounts);
            if (boundaryTokens is not null) ArrayPool<Candidate>.Shared.Return(boundaryTokens);
        }
    }

    // Which nucleus bucket a (scaled) logit falls in: 0 for the top logit, one per 1/32 nat below it; everything more
    // than 64 nats below (a probability under e^-64 of the top one's) shares the last.
    private static int Bucket(float max, float logit) => (int)Math.Min((max - logit) * (NucleusBuckets / NucleusRange), NucleusBuckets - 1);

    // Candidates most likely first with weights adding up to `total` over what they were drawn from: keep the fewest
    // whose weights reach top-p of it (at least one), then draw among them.
    private int Draw(ReadOnlySpan<Candidate> candidates, double total)
    {
        var kept = candidates.Length;
        double keptWeight = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            keptWeight += candidates[i].Weight;
            if (_topP < 1 && keptWeight >= _topP * total)
            {
                kept = i + 1;
                break;
            }
        }

        var target = _random.NextDouble() * keptWeight;
        double cumulative = 0;
        for (var i = 0; i < kept; i++)
        {
            cumulative += candidates[i].Weight;
            if (target < cumulative) return candidates[i].Id;
        }

        return candidates[0].Id; // rounding left the target past the sum, or every kept weight is 0
    }

    /// <summary>
    /// The <c>top.Length</c> highest of <paramref name="values"/> (fewer when there are fewer values), highest first,
    /// ties by lowest id, without sorting them all: a min-heap of the best so far. NaN counts as negative infinity.
    /// </summary>
    /// <returns>How many were written.</returns>
    internal static int SelectTop(ReadOnlySpan<float> values, Span<Candidate> top)
    {
        var size = Math.Min(top.Length, values.Length);
        if (size == 0) return 0;
        var heap = top[..size];
        for (var i = 0; i < size; i++) heap[i] = new Candidate(i, float.IsNaN(values[i]) ? float.NegativeInfinity : values[i]);
        for (var i = size / 2 - 1; i >= 0; i--) SiftDown(heap, i);
        for (var i = size; i < values.Length; i++)
        {
            // Later ids lose ties, so only a strictly higher value gets in.
            if (values[i] > heap[0].Logit)
            {
                heap[0] = new Candidate(i, values[i]);
                SiftDown(heap, 0);
            }
        }

        heap.Sort(default(MostLikelyFirst));
        return size;
    }

    private static void SiftDown(Span<Candidate> heap, int at)
    {
        while (true)
        {
            var worst = at;
            var left = 2 * at + 1;
            if (left < heap.Length && Worse(heap[left], heap[worst])) worst = left;
            if (left + 1 < heap.Length && Worse(heap[left + 1], heap[worst])) worst = left + 1;
            if (worst == at) return;
            (heap[at], heap[worst]) = (heap[worst], heap[at]);
            at = worst;
        }
    }

    private static bool Worse(in Candidate a, in Candidate b) => a.Logit < b.Logit || a.Logit == b.Logit && a.Id > b.Id;

    private static ulong SplitMix64(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A token and its (scaled) logit; <see cref="Weight"/> is its unnormalized probability once computed.</summary>
    internal struct Candidate(int id, float logit)
    {
        public readonly int Id = id;
        public readonly float Logit = logit;
        public float Weight;
    }

    private readonly struct MostLikelyFirst : IComparer<Candidate>
    {
        public int Compare(Candidate x, Candidate y) => x.Logit != y.Logit ? y.Logit.CompareTo(x.Logit) : x.Id.CompareTo(y.Id);
    }

    // xoshiro256** (Blackman and Vigna): small, fast, and the same numbers on every platform and .NET version, which
    // System.Random does not promise for a seed.
    private struct Xoshiro256StarStar
    {
        private ulong _s0, _s1, _s2, _s3;

        public Xoshiro256StarStar(ulong seed)
        {
            _s0 = SplitMix64(ref seed);
            _s1 = SplitMix64(ref seed);
            _s2 = SplitMix64(ref seed);
            _s3 = SplitMix64(ref seed);
        }

        // [0, 1) with 53 random bits.
        public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

        private ulong Next()
        {
            var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
            var t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = ulong.RotateLeft(_s3, 45);
            return result;
        }
    }
}
