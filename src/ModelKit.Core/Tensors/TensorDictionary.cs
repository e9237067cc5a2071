using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace ModelKit.Tensors;

/// <summary>
/// A read-only name → tensor map over two parallel arrays; a backend shares the names array between every result of a
/// batch. Lookups are a linear scan, which beats hashing for the handful of outputs a model has.
/// </summary>
/// <param name="names">The names; not copied, so never change it afterwards.</param>
/// <param name="values">The tensors, in the order of <paramref name="names"/>; not copied.</param>
public sealed class TensorDictionary(string[] names, Tensor[] values) : IReadOnlyDictionary<string, Tensor>
{
    /// <summary>The tensor named <paramref name="key"/>; <see cref="KeyNotFoundException"/> when there is none.</summary>
    public Tensor this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"There is no tensor named '{key}'.");

    /// <inheritdoc />
    public IEnumerable<string> Keys => names;

    /// <inheritdoc />
    public IEnumerable<Tensor> Values => values;

    /// <inheritdoc />
    public int Count => names.Length;

    /// <inheritdoc />
    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    /// <inheritdoc />
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Tensor value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? values[i] : null;
        return i >= 0;
    }

    /// <inheritdoc />
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
