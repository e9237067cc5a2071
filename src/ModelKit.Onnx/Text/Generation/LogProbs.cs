using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using ModelKit.Text;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>Log-probabilities of a position's tokens under the model, from its raw logits (before temperature and penalties).</summary>
internal static class LogProbs
{
    /// <summary>The most alternatives a position may list (OpenAI's limit).</summary>
    public const int MaxTop = TextGenerationParameters.MaxTopLogProbs;

    /// <summary>
    /// The log-softmax of <paramref name="rawLogits"/> at <paramref name="chosen"/>, and the <c>topIds.Length</c> most
    /// likely tokens with theirs, most likely first (ties: lowest id). Numerically stable (the maximum is subtracted
    /// before exponentiating); NaN logits count as impossible.
    /// </summary>
    /// <returns>The chosen token's log-probability and how many alternatives were written.</returns>
    public static (float ChosenLogProb, int TopCount) Compute(ReadOnlySpan<float> rawLogits, int chosen, Span<int> topIds, Span<float> topLogProbs)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)chosen, (uint)rawLogits.Length, nameof(chosen));
        if (topLogProbs.Length < topIds.Length) throw new ArgumentException("topLogProbs must be as long as topIds.", nameof(topLogProbs));
        var (max, logSum) = LogSumExp(rawLogits);
        var count = 0;
        if (!topIds.IsEmpty)
        {
            var rented = ArrayPool<TokenSampler.Candidate>.Shared.Rent(topIds.Length);
            try
            {
                count = TokenSampler.SelectTop(rawLogits, rented.AsSpan(0, topIds.Length));
                for (var i = 0; i < count; i++)
                {
                    topIds[i] = rented[i].Id;
                    topLogProbs[i] = (float)(rented[i].Logit - max - logSum);
                }
            }
            finally
            {
                ArrayPool<TokenSampler.Candidate>.Shared.Return(rented);
            }
        }

        var raw = rawLogits[chosen];
        return (float.IsNaN(raw) ? float.NegativeInfinity : (float)(raw - max - logSum), count);
    }

    /// <summary>
    /// The chosen token's log-probability as the result reports it, with its text and bytes from
    /// <paramref name="tokenizer"/> and, when <paramref name="top"/> is above 0, the most likely alternatives.
    /// </summary>
    public static TokenLogProb Compute(ReadOnlySpan<float> rawLogits, int chosen, int top, ModelTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(top, MaxTop);
        Span<int> ids = stackalloc int[top];
        Span<float> logProbs = stackalloc float[top];
        var (chosenLogProb, count) = Compute(rawLogits, chosen, ids, logProbs);
        TopTokenLogProb[]? alternatives = null;
        if (top > 0)
        {
            alternatives = new TopTokenLogProb[count];
            for (var i = 0; i < count; i++)
            {
                alternatives[i] = new TopTokenLogProb(tokenizer.TokenText(ids[i]), ids[i], logProbs[i], tokenizer.TokenBytes(ids[i]).ToArray());
            }
        }

        return new TokenLogProb(tokenizer.TokenText(chosen), chosen, chosenLogProb, tokenizer.TokenBytes(chosen).ToArray(), alternatives);
    }

    // log Σ exp(x) as max + log Σ exp(x − max), so that no exponential overflows; the two parts apart, so that a
    // log-probability, (x − max) − log Σ …, keeps its precision beside large logits.
    private static (float Max, double LogSum) LogSumExp(ReadOnlySpan<float> logits)
    {
        var max = float.NegativeInfinity;
        var hasNaN = false;
        foreach (var value in logits)
        {
            if (float.IsNaN(value)) hasNaN = true;
            else if (value > max) max = value;
        }

        if (float.IsNegativeInfinity(max)) return (0, double.PositiveInfinity); // nothing is possible: every log-prob is -∞
        double sum = 0;
        if (!hasNaN)
        {
            var rented = ArrayPool<float>.Shared.Rent(logits.Length);
            try
            {
                var shifted = rented.AsSpan(0, logits.Length);
                TensorPrimitives.Subtract(logits, max, shifted);
                TensorPrimitives.Exp(shifted, shifted);
                sum = TensorPrimitives.Sum<float>(shifted);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }
        else
        {
            foreach (var value in logits)
            {
                if (!float.IsNaN(value)) sum += Math.Exp(value - max);
            }
        }

        return (max, Math.Log(sum));
    }
}
