namespace ModelKit.LocalHub;

/// <summary>A file request (resolve or LFS download, GET or HEAD) that carried a <c>Range</c> header.</summary>
/// <param name="Path">The request path as sent, e.g. <c>/owner/name/resolve/main/model.onnx</c> or <c>/_lfs/{sha256}</c>.</param>
/// <param name="Range">The <c>Range</c> header's value as sent, e.g. <c>bytes=1024-</c>.</param>
public sealed record LocalHubRangeRequest(string Path, string Range);
