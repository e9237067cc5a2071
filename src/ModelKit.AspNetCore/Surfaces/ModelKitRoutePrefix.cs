namespace ModelKit.AspNetCore;

/// <summary>The prefix a group was mapped under, kept as endpoint metadata (read back without allocating).</summary>
internal sealed record ModelKitRoutePrefix(string Value);
