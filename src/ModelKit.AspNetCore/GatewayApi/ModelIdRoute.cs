namespace ModelKit.AspNetCore;

/// <summary>
/// Model ids in paths. An id of the Hugging Face form <c>org/name</c> arrives either as two segments (the surfaces map
/// <c>…/{org}/{name}…</c> beside <c>…/{model_id}…</c>) or with its slash escaped as <c>%2F</c>, which routing leaves escaped.
/// </summary>
internal static class ModelIdRoute
{
    /// <summary>The id from one path segment: <c>%2F</c> (either case) is the slash of <c>org/name</c>.</summary>
    public static string FromSegment(string segment) =>
        segment.Contains('%', StringComparison.Ordinal) ? segment.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase) : segment;

    /// <summary>The id <c>org/name</c> from two segments.</summary>
    public static string FromSegments(string org, string name) => org + "/" + name;
}
