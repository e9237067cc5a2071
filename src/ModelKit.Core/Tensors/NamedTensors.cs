using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace ModelKit.Tensors;

/// <summary>
/// A read-only name → tensor map over two parallel arrays; the names array is shared by every result of a batch.
/// Lookups are a linear scan, which beats hashing for the handful of outputs a model has.
/// </summary>
internal sealed class NamedTensors(string[] names, Tensor[] values) : IReadOnlyDictionary<string, Tensor>
{
    public Tensor this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"There is no tensor named '{key}'.");

    public IEnumerable<string> Keys => names;

    public IEnumerable<Tensor> Values => values;

    public int Count => names.Length;

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Tensor value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? values[i] : null;
        return i >= 0;
    }

    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator()
    {
        for (var i = 0; i < names.Length; i++) yield return new KeyValuePair<string, Tensor>(names[i], values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int IndexOf(string key)
    {
        for (var i = 0; i < names.Length; i++)
        {
            if (string.Equals(names[i], key, StringComparison.Ordinal)) return i;
        }

        return -1;
    }
}
