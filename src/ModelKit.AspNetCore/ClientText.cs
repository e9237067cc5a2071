namespace ModelKit.AspNetCore;

/// <summary>Client input as error messages quote it: a short piece, never the whole of what was sent.</summary>
internal static class ClientText
{
    /// <summary><paramref name="text"/> up to <paramref name="max"/> characters, then "…"; empty for null.</summary>
    public static string Quote(string? text, int max = 100) => text is null ? string.Empty : text.Length <= max ? text : text[..max] + "…";
}
