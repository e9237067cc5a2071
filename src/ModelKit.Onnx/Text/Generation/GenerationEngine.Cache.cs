using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Text;
using OrtElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace ModelKit.Onnx.Text.Generation;

// The batch's KV cache: compacting the rows' real slots when a row joins or leaves.
internal sealed partial class GenerationEngine
{
    // Joins waiting rows and drops finished ones: every row's real slots are copied, in order, into compact tensors.
    private void Rebuild()
    {
        var rows = new List<GenerationSequence>(_active.Count + _joining.Count);
        foreach (var s in _active) if (!s.Finished) rows.Add(s);
        foreach (var s in _joining) if (!s.Finished) rows.Add(s);
        var consumed = new HashSet<GenerationJob>();
        foreach (var s in _joining) consumed.Add(s.Job);
        _joining.Clear();

        if (rows.Count == 0)
        {
            DisposeCache();
            _active.Clear();
            foreach (var job in consumed) job.DisposePrefill();
            _dirty = false;
            return;
        }

        var slots = 0;
        foreach (var s in rows) slots = Math.Max(slots, s.CachedLength);
        var heads = _decoder.KvHeads;
        var oldRuns = new List<(int Start, int Length)>[rows.Count];
        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r].Row >= 0) oldRuns[r] = Runs(rows[r].Row);
        }

        var layers = _decoder.Layout.Layers.Count;
        var cache = new OrtValue[2 * layers];
        try
        {
            for (var t = 0; t < cache.Length; t++)
            {
                cache[t] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, KvOrtType, [rows.Count, heads, slots, _decoder.HeadDim]);
                var destination = cache[t].GetTensorMutableRawData();
                destination.Clear(); // masked slots must hold numbers: garbage could be NaN, and NaN × 0 is still NaN
                for (var r = 0; r < rows.Count; r++)
                {
                    var s = rows[r];
                    for (var h = 0; h < heads; h++)
                    {
                        var target = destination.Slice((int)(((((long)r * heads) + h) * slots) * _slotBytes));
                        if (s.Row >= 0)
                        {
                            var source = _cache![t].GetTensorDataAsSpan<byte>();
                            var from = ((((long)s.Row * heads) + h) * _slots) * _slotBytes;
                            var written = 0;
                            foreach (var (start, length) in oldRuns[r])
                            {
                                source.Slice((int)(from + ((long)start * _slotBytes)), length * _slotBytes).CopyTo(target[(written * _slotBytes)..]);
                                written += length;
                            }
                        }
                        else
                        {
                            var source = s.Job.PrefillCache![t].GetTensorDataAsSpan<byte>();
                            var length = s.CachedLength;
                            source.Slice(h * length * _slotBytes, length * _slotBytes).CopyTo(target);
                        }
                    }
                }
            }
        }
        catch
        {
            foreach (var v in cache) v?.Dispose();
            throw;
        }

        DisposeCache();
        foreach (var job in consumed) job.DisposePrefill();
        _cache = cache;
        _slots = slots;
        _mask = new long[rows.Count * slots];
        for (var r = 0; r < rows.Count; r++)
        {
            Array.Fill(_mask, 1L, r * slots, rows[r].CachedLength);
            rows[r].Row = r;
        }

        _active.Clear();
        _active.AddRange(rows);
        _dirty = false;
    }

    // The runs of real (unmasked) slots of a row of the current batch.
    private List<(int Start, int Length)> Runs(int row)
    {
        var runs = new List<(int, int)>(2);
        var offset = row * _slots;
        var i = 0;
        while (i < _slots)
        {
            if (_mask[offset + i] == 0)
            {
                i++;
                continue;
            }

            var start = i;
            while (i < _slots && _mask[offset + i] != 0) i++;
            runs.Add((start, i - start));
        }

        return runs;
    }

    private void DisposeCache()
    {
        if (_cache is null) return;
        foreach (var v in _cache) v.Dispose();
        _cache = null;
        _slots = 0;
        _mask = [];
        foreach (var s in _active) s.Row = -1;
    }
}
