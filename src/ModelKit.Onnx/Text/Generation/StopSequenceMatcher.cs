namespace ModelKit.Onnx.Text.Generation;

/// <summary>
/// Finds stop sequences in one choice's text as it streams. Text that could still be the start of a stop sequence is
/// held back until the next delta tells (so a client never sees part of a stop sequence); when a stop sequence
/// completes, the text before it is released and the choice stops. A stop sequence may span any number of deltas.
/// Not thread-safe: one per choice.
/// </summary>
internal sealed class StopSequenceMatcher
{
    private readonly string[] _stops;
    private string _held = "";

    /// <summary>Matches <paramref name="stops"/> (none: every text passes straight through).</summary>
    /// <exception cref="ArgumentException">A stop sequence is null or empty.</exception>
    public StopSequenceMatcher(IReadOnlyList<string> stops)
    {
        ArgumentNullException.ThrowIfNull(stops);
        _stops = new string[stops.Count];
        for (var i = 0; i < _stops.Length; i++)
        {
            if (string.IsNullOrEmpty(stops[i])) throw new ArgumentException($"Stop sequence {i} is empty; stop sequences need at least one character.", nameof(stops));
            _stops[i] = stops[i];
        }
    }

    /// <summary>True once a stop sequence was found; later deltas are ignored.</summary>
    public bool Stopped { get; private set; }

    /// <summary>
    /// Adds the text a token added. Returns the text that is safe to send now and, when a stop sequence completed, the
    /// text before it with <c>stopped</c> true.
    /// </summary>
    public (string Emit, bool Stopped) Push(string textDelta)
    {
        ArgumentNullException.ThrowIfNull(textDelta);
        if (Stopped) return ("", true);
        if (_stops.Length == 0) return (textDelta, false);
        if (textDelta.Length == 0) return ("", false);

        // Only the held tail and the delta can hold a stop sequence: anything before the tail could start none.
        var text = _held.Length == 0 ? textDelta : _held + textDelta;
        var at = -1;
        foreach (var stop in _stops)
        {
            var found = text.IndexOf(stop, StringComparison.Ordinal);
            if (found >= 0 && (at < 0 || found < at)) at = found;
        }

        if (at >= 0)
        {
            Stopped = true;
            _held = "";
            return (text[..at], true);
        }

        var hold = HeldLength(text);
        _held = hold == 0 ? "" : text[^hold..];
        return (hold == 0 ? text : text[..^hold], false);
    }

    /// <summary>At the end of the choice (no stop sequence found): the text still held back.</summary>
    public string Flush()
    {
        var held = _held;
        _held = "";
        return Stopped ? "" : held;
    }

    // The longest end of `text` that is the start of some stop sequence (shorter than it: a whole one was searched for).
    private int HeldLength(string text)
    {
        var longest = 0;
        foreach (var stop in _stops)
        {
            for (var length = Math.Min(stop.Length - 1, text.Length); length > longest; length--)
            {
                if (text.AsSpan(text.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
            }
        }

        return longest;
    }
}
