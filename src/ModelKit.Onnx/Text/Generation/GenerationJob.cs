using System.Threading.Channels;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Scheduling;
using ModelKit.Text;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>
/// One request inside the engine: its prompt, its choices, where its updates go. Touched by the engine's thread only,
/// except <see cref="Updates"/> (read by the caller) and the cancellation token.
/// </summary>
internal sealed class GenerationJob
{
    private readonly Channel<TextGenerationUpdate> _updates = Channel.CreateUnbounded<TextGenerationUpdate>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public required string ModelId { get; init; }
    public required string Version { get; init; }
    public required int[] PromptIds { get; init; }
    public required int MaxTokens { get; init; }
    public required GenerationChoiceSettings Settings { get; init; }
    public required GenerationSequence[] Choices { get; init; }
    public required RequestPriority Priority { get; init; }

    /// <summary>Cancelled when the caller goes away or the timeout passes.</summary>
    public required CancellationToken Cancellation { get; init; }

    /// <summary>Tells a timeout from the caller's cancellation.</summary>
    public required Func<bool> TimedOut { get; init; }

    /// <summary>When it was queued (a Stopwatch timestamp), for the time to first token.</summary>
    public long Arrived { get; set; }

    /// <summary>Arrival order, for FIFO within a priority.</summary>
    public long Sequence { get; set; }

    /// <summary>The longest the sequences of this job get: prompt + max tokens.</summary>
    public int FinalLength => PromptIds.Length + MaxTokens;

    public ChannelReader<TextGenerationUpdate> Updates => _updates.Reader;

    // Prefill state.
    public int Prefilled { get; set; }
    public OrtValue[]? PrefillCache { get; set; }

    public int CompletionTokens { get; set; }
    public int Unfinished { get; set; }
    public bool Completed { get; private set; }

    public void Emit(TextGenerationUpdate update) => _updates.Writer.TryWrite(update);

    /// <summary>Every choice has finished: the usage update, then the end of the stream.</summary>
    public void Complete()
    {
        if (Completed) return;
        Completed = true;
        DisposePrefill();
        _updates.Writer.TryWrite(new TextGenerationUpdate
        {
            ModelId = ModelId,
            Version = Version,
            Usage = new TextGenerationUsage(PromptIds.Length, CompletionTokens),
        });
        _updates.Writer.TryComplete();
    }

    public void Fail(Exception error)
    {
        if (Completed) return;
        Completed = true;
        DisposePrefill();
        _updates.Writer.TryComplete(error);
    }

    public void DisposePrefill()
    {
        if (PrefillCache is null) return;
        foreach (var v in PrefillCache) v?.Dispose();
        PrefillCache = null;
    }
}

/// <summary>What every choice of a request shares.</summary>
internal sealed record GenerationChoiceSettings(IReadOnlyList<string> Stops, bool LogProbs, int TopLogProbs);

/// <summary>One choice of a request: a row of the batch from its prefill to its end.</summary>
internal sealed class GenerationSequence
{
    public required GenerationJob Job { get; init; }
    public required int Index { get; init; }
    public required TokenSampler Sampler { get; init; }
    public required IncrementalDetokenizer Detokenizer { get; init; }
    public required StopSequenceMatcher StopMatcher { get; init; }

    /// <summary>Prompt and generated tokens (the recompute path feeds them all).</summary>
    public required List<int> Tokens { get; init; }

    /// <summary>The tokens whose keys and values are in the cache.</summary>
    public int CachedLength { get; set; }

    /// <summary>The token sampled last, not yet run through the model.</summary>
    public int NextToken { get; set; }

    public int Generated { get; set; }
    public bool Finished { get; set; }

    /// <summary>Its row in the current batch; -1 when it joins at the next rebuild.</summary>
    public int Row { get; set; } = -1;
}
