namespace ModelKit.AspNetCore;

/// <summary>One API key from configuration.</summary>
public sealed class ModelKitApiKey
{
    /// <summary>A name for logs and rate limiting (the key itself is never logged).</summary>
    public string Name { get; set; } = string.Empty;
    /// <summary>The secret, sent as <c>X-API-Key: …</c> or <c>Authorization: Bearer …</c>.</summary>
    public string Key { get; set; } = string.Empty;
    /// <summary>Scopes: <c>read</c>, <c>infer</c>, <c>manage</c> (which includes the others). At least one is required.</summary>
    public List<string> Scopes { get; set; } = [];
    /// <summary>Requests per minute for this key; <see cref="ModelKitAuthOptions.RequestsPerMinute"/> when null.</summary>
    public int? RequestsPerMinute { get; set; }
}
