namespace ModelKit.Backends;

/// <summary>A device a model runs on: <c>cpu</c>, or <c>cuda:N</c>.</summary>
public readonly record struct ExecutionDevice(DeviceKind Kind, int Index)
{
    /// <summary>The host CPU.</summary>
    public static ExecutionDevice Cpu => new(DeviceKind.Cpu, 0);

    /// <summary>CUDA device <paramref name="index"/>.</summary>
    public static ExecutionDevice Cuda(int index = 0) => new(DeviceKind.Cuda, index);

    /// <summary>Parses <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> or <c>gpu[:N]</c> (case-insensitive).</summary>
    public static bool TryParse(string? text, out ExecutionDevice device)
    {
        device = Cpu;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim().ToUpperInvariant();
        if (s == "CPU") return true;
        var colon = s.IndexOf(':', StringComparison.Ordinal);
        var head = colon < 0 ? s : s[..colon];
        if (head is not ("CUDA" or "GPU")) return false;
        var index = 0;
        if (colon >= 0 && (!int.TryParse(s.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index) || index > 64))
        {
            return false;
        }

        device = Cuda(index);
        return true;
    }

    /// <summary>Parses like <see cref="TryParse"/> and throws <see cref="InvalidModelConfigException"/> naming the allowed forms.</summary>
    public static ExecutionDevice Parse(string? text) =>
        TryParse(text, out var device)
            ? device
            : throw new InvalidModelConfigException($"Device '{text}' is not valid; use 'cpu' or 'cuda:N'.");

    /// <summary><c>cpu</c> or <c>cuda:N</c>.</summary>
    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"cuda:{Index}";
}
