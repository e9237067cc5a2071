using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Text;
using OrtElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace ModelKit.Onnx.Text.Generation;

// The model runs: a prefill chunk, a decoding step of the batch, a recompute step, and the inputs they feed.
internal sealed partial class GenerationEngine
{
    // One chunk of one prompt (the whole prompt without a cache); at its end each choice samples its first token.
    private void PrefillChunk(GenerationJob job)
    {
        var layout = _decoder.Layout;
        var prompt = job.PromptIds;
        var start = job.Prefilled;
        var count = _useCache ? Math.Min(_options.PrefillChunkTokens, prompt.Length - start) : prompt.Length;
        var inputs = new List<(string, OrtValue)>();
        var owned = new List<OrtValue>();
        try
        {
            var ids = new long[count];
            var positions = new long[count];
            for (var i = 0; i < count; i++)
            {
                ids[i] = prompt[start + i];
                positions[i] = start + i;
            }

            var mask = new long[start + count];
            Array.Fill(mask, 1L);
            AddInputs(inputs, owned, ids, [1, count], mask, [1, start + count], positions, [1, count], useCache: start > 0);
            AddPast(inputs, owned, job.PrefillCache, rows: 1);

            var outputs = Run(inputs);
            using var logits = outputs[0];
            if (_useCache)
            {
                job.DisposePrefill();
                job.PrefillCache = outputs[1..];
            }
            else
            {
                for (var i = 1; i < outputs.Length; i++) outputs[i].Dispose();
            }

            job.Prefilled = start + count;
            if (job.Prefilled < prompt.Length) return;

            _prefilling.Remove(job);
            _metrics.Tokens.Add(prompt.Length, _modelTag, new(Diagnostics.ModelKitTelemetry.TokenTypeTag, "prompt"));
            _metrics.TimeToFirstToken.Record(System.Diagnostics.Stopwatch.GetElapsedTime(job.Arrived).TotalSeconds, _modelTag);
            foreach (var choice in job.Choices)
            {
                choice.CachedLength = prompt.Length;
                Advance(choice, logits, row: 0, position: count - 1, sequenceLength: count);
                if (!choice.Finished) _joining.Add(choice);
            }

            if (Array.TrueForAll(job.Choices, static c => c.Finished)) job.DisposePrefill();
        }
        finally
        {
            foreach (var value in owned) value.Dispose();
        }
    }

    // One step for every row: each row's next token, its position among its real tokens, its mask with the new slot.
    private void DecodeStep()
    {
        var layout = _decoder.Layout;
        var rows = _active.Count;
        var slots = _slots + 1;
        var ids = new long[rows];
        var positions = new long[rows];
        var mask = new long[rows * slots];
        for (var r = 0; r < rows; r++)
        {
            var s = _active[r];
            ids[r] = s.NextToken;
            positions[r] = s.CachedLength;
            Array.Copy(_mask, r * _slots, mask, r * slots, _slots);
            mask[(r * slots) + _slots] = 1;
        }

        var inputs = new List<(string, OrtValue)>();
        var owned = new List<OrtValue>();
        OrtValue[] outputs;
        try
        {
            AddInputs(inputs, owned, ids, [rows, 1], mask, [rows, slots], positions, [rows, 1], useCache: true);
            AddPast(inputs, owned, _cache, rows);
            outputs = Run(inputs);
        }
        finally
        {
            foreach (var value in owned) value.Dispose();
        }

        _metrics.StepSequences.Record(rows, _modelTag);
        using var logits = outputs[0];
        foreach (var value in _cache!) value.Dispose(); // the rows stay: their keys and values are in the present tensors
        _cache = outputs[1..];
        _mask = mask;
        _slots = slots;
        for (var r = 0; r < rows; r++)
        {
            var s = _active[r];
            s.CachedLength++;
            Advance(s, logits, r, position: 0, sequenceLength: 1);
        }
    }

    // Without a cache: every row's whole sequence, right-padded, at every step.
    private void RecomputeStep()
    {
        var layout = _decoder.Layout;
        var rows = _active.Count;
        var length = 0;
        foreach (var s in _active) length = Math.Max(length, s.Tokens.Count);
        var ids = new long[rows * length];
        var mask = new long[rows * length];
        var positions = new long[rows * length];
        for (var r = 0; r < rows; r++)
        {
            var tokens = _active[r].Tokens;
            for (var i = 0; i < length; i++)
            {
                var real = i < tokens.Count;
                ids[(r * length) + i] = real ? tokens[i] : 0;
                mask[(r * length) + i] = real ? 1 : 0;
                positions[(r * length) + i] = i;
            }
        }

        var inputs = new List<(string, OrtValue)>();
        var owned = new List<OrtValue>();
        OrtValue[] outputs;
        try
        {
            AddInputs(inputs, owned, ids, [rows, length], mask, [rows, length], positions, [rows, length], useCache: false);
            AddPast(inputs, owned, null, rows);
            outputs = Run(inputs);
        }
        finally
        {
            foreach (var value in owned) value.Dispose();
        }

        using var logits = outputs[0];
        for (var i = 1; i < outputs.Length; i++) outputs[i].Dispose();
        for (var r = 0; r < rows; r++)
        {
            var s = _active[r];
            Advance(s, logits, r, position: s.Tokens.Count - 1, sequenceLength: length);
        }
    }

    private void AddInputs(
        List<(string, OrtValue)> inputs, List<OrtValue> owned, long[] ids, long[] idsShape, long[] mask, long[] maskShape, long[] positions, long[] positionsShape, bool useCache)
    {
        var layout = _decoder.Layout;
        inputs.Add((layout.InputIds, Own(owned, Ids(layout.InputIds, ids, idsShape))));
        if (layout.AttentionMask is { } maskName) inputs.Add((maskName, Own(owned, Ids(maskName, mask, maskShape))));
        if (layout.PositionIds is { } positionName) inputs.Add((positionName, Own(owned, Ids(positionName, positions, positionsShape))));
        if (layout.UseCacheBranch is { } branch) inputs.Add((branch, Own(owned, OrtValue.CreateTensorValueFromMemory(new[] { useCache }, [1]))));
    }

    private static OrtValue Own(List<OrtValue> owned, OrtValue value)
    {
        owned.Add(value);
        return value;
    }

    // Past inputs: the given cache, or empty tensors [rows, heads, 0, head_dim] for a first pass.
    private void AddPast(List<(string, OrtValue)> inputs, List<OrtValue> owned, OrtValue[]? cache, int rows)
    {
        var layers = _decoder.Layout.Layers;
        for (var l = 0; l < layers.Count; l++)
        {
            if (cache is not null && _useCache)
            {
                inputs.Add((layers[l].PastKey, cache[2 * l]));
                inputs.Add((layers[l].PastValue, cache[(2 * l) + 1]));
            }
            else
            {
                inputs.Add((layers[l].PastKey, Own(owned, EmptyPast(rows))));
                inputs.Add((layers[l].PastValue, Own(owned, EmptyPast(rows))));
            }
        }
    }

    private OrtValue EmptyPast(int rows) =>
        OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, KvOrtType, [rows, _decoder.KvHeads, 0, _decoder.HeadDim]);

    private OrtElementType KvOrtType => _decoder.Layout.KvType == Tensors.TensorElementType.Float16 ? OrtElementType.Float16 : OrtElementType.Float;

    private OrtValue[] Run(List<(string Name, OrtValue Value)> inputs)
    {
        var names = new string[inputs.Count];
        var values = new OrtValue[inputs.Count];
        for (var i = 0; i < inputs.Count; i++) (names[i], values[i]) = inputs[i];
        var results = _session!.Run(_runOptions, names, values, _outputNames);
        var outputs = new OrtValue[results.Count];
        for (var i = 0; i < outputs.Length; i++) outputs[i] = results[i];
        return outputs; // the caller owns each value; the collection holds nothing else
    }

    private OrtValue Ids(string input, long[] values, long[] shape)
    {
        if (_decoder.Int32Inputs.Contains(input))
        {
            var narrow = new int[values.Length];
            for (var i = 0; i < values.Length; i++) narrow[i] = (int)values[i];
            return OrtValue.CreateTensorValueFromMemory(narrow, shape);
        }

        return OrtValue.CreateTensorValueFromMemory(values, shape);
    }
}
