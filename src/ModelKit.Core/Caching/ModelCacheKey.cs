using ModelKit.Backends;

namespace ModelKit.Caching;

/// <summary>A cached model's identity: model, version and device.</summary>
public readonly record struct ModelCacheKey(string ModelId, string Version, ExecutionDevice Device)
{
    /// <summary><c>model:version@device</c>.</summary>
    public override string ToString() => $"{ModelId}:{Version}@{Device}";

    /// <summary>
    /// Parses <c>model:version@device</c> as <see cref="ToString"/> writes it (the device <c>cpu</c> when <c>@device</c> is
    /// left out). The model id may contain ':' or '/' (the last ':' separates the version). INVALID_INPUT naming the
    /// expected form when the text is not a key.
    /// </summary>
    public static ModelCacheKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var at = text.LastIndexOf('@');
        var head = at < 0 ? text : text[..at];
        var colon = head.LastIndexOf(':');
        var device = ExecutionDevice.Cpu;
        if (colon <= 0 || colon == head.Length - 1 || (at >= 0 && !ExecutionDevice.TryParse(text[(at + 1)..], out device)))
        {
            var shown = ClientText.Quote(text, 64);
            throw new InvalidInputException($"Cache key '{shown}' must look like 'model:version@device' (for example demo-mlp:1@cpu).");
        }

        return new ModelCacheKey(head[..colon], head[(colon + 1)..], device);
    }
}
