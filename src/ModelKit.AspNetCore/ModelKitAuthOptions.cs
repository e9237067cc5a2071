namespace ModelKit.AspNetCore;

/// <summary>Authentication, scopes and rate limits of ModelKit's endpoints (section <c>ModelKit:Auth</c> in the sample).</summary>
public sealed class ModelKitAuthOptions
{
    /// <summary>Require an API key. Turning it off must be explicit: <c>Enabled = false</c>. Default: true.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>The accepted keys.</summary>
    public List<ModelKitApiKey> Keys { get; set; } = [];
    /// <summary>Requests per minute per key (per client address when auth is off); 0 turns rate limiting off. Default: 6000.</summary>
    public int RequestsPerMinute { get; set; } = 6000;
    /// <summary>
    /// Failed authentications (a key that is not valid) per minute per client address; past it, every request from that
    /// address is refused with 429 RATE_LIMITED until the minute is over, whatever key it sends, so keys cannot be
    /// guessed by trying. 0 turns it off. Default: 30.
    /// </summary>
    public int FailedAttemptsPerMinute { get; set; } = 30;
    /// <summary>
    /// Surfaces served without a key while the others keep theirs, by id: <c>000</c>, <c>001</c>, <c>002</c>, <c>003</c>,
    /// <c>004</c> (the seeds), <c>v1</c> (OpenAI-compatible) and <c>v2</c> (Open Inference Protocol). Read when the surface is mapped. Default: none.
    /// </summary>
    public List<string> AnonymousSurfaces { get; set; } = [];
}
