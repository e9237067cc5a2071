using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Text;
using OrtElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace ModelKit.Onnx.Text.Generation;

// A row's next token: sampling, text, stop sequences and the end of a choice.
internal sealed partial class GenerationEngine
{
    // Samples a row's next token from its logits, updates its text, and ends it on an end token, a stop sequence or a limit.
    private void Advance(GenerationSequence s, OrtValue logits, int row, int position, int sequenceLength)
    {
        var vocabulary = (int)logits.GetTensorTypeAndShape().Shape[2];
        if (_logits.Length != vocabulary) _logits = new float[vocabulary];
        var offset = (((long)row * sequenceLength) + position) * vocabulary;
        if (_decoder.Layout.LogitsType == Tensors.TensorElementType.Float16)
        {
            var halves = MemoryMarshal.Cast<byte, Half>(logits.GetTensorDataAsSpan<byte>()).Slice((int)offset, vocabulary);
            for (var i = 0; i < vocabulary; i++) _logits[i] = (float)halves[i];
        }
        else
        {
            logits.GetTensorDataAsSpan<float>().Slice((int)offset, vocabulary).CopyTo(_logits);
        }

        var job = s.Job;
        TokenLogProb? logProb = null;
        int token;
        if (job.Settings.LogProbs)
        {
            var raw = _logits.AsSpan();
            var scratch = System.Buffers.ArrayPool<float>.Shared.Rent(vocabulary);
            try
            {
                raw.CopyTo(scratch);
                token = s.Sampler.Sample(scratch.AsSpan(0, vocabulary));
                logProb = _decoder.LogProb(raw, token, job.Settings.TopLogProbs);
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(scratch);
            }
        }
        else
        {
            token = s.Sampler.Sample(_logits);
        }

        s.Sampler.Accept(token);
        Interlocked.Increment(ref _generated);
        _metrics.Tokens.Add(1, _modelTag, new(Diagnostics.ModelKitTelemetry.TokenTypeTag, "completion"));
        s.Generated++;
        job.CompletionTokens++;
        s.Tokens.Add(token);
        s.NextToken = token;

        string text;
        string? finish = null;
        IReadOnlyList<int> tokenIds = [token];
        if (_decoder.IsEndToken(token))
        {
            tokenIds = [];
            logProb = null;
            var (rest, _) = s.StopMatcher.Push(s.Detokenizer.Flush());
            text = rest + s.StopMatcher.Flush();
            finish = TextGenerationFinishReasons.Stop;
        }
        else
        {
            var (emit, stopped) = s.StopMatcher.Push(s.Detokenizer.Push(token));
            text = emit;
            if (stopped)
            {
                finish = TextGenerationFinishReasons.Stop;
                if (emit.Length == 0)
                {
                    // The token only completed the stop sequence: none of its text is in the answer, so neither is it.
                    tokenIds = [];
                    logProb = null;
                }
            }
            else if (s.Generated >= job.MaxTokens || s.Tokens.Count >= ContextLength)
            {
                var (rest, stoppedAtEnd) = s.StopMatcher.Push(s.Detokenizer.Flush());
                text += rest + (stoppedAtEnd ? string.Empty : s.StopMatcher.Flush());
                finish = stoppedAtEnd ? TextGenerationFinishReasons.Stop : TextGenerationFinishReasons.Length;
            }
        }

        job.Emit(new TextGenerationUpdate
        {
            ModelId = job.ModelId,
            Version = job.Version,
            ChoiceIndex = s.Index,
            Text = text,
            TokenIds = tokenIds,
            LogProbs = logProb is null ? null : [logProb],
            FinishReason = finish,
        });

        if (finish is null) return;
        s.Finished = true;
        _dirty = true;
        if (--job.Unfinished == 0)
        {
            _metrics.Duration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(job.Arrived).TotalSeconds, _modelTag);
            job.Complete();
        }
    }
}
