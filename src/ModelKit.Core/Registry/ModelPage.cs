namespace ModelKit.Registry;

/// <summary>One page of models.</summary>
public sealed record ModelPage(IReadOnlyList<ModelInfo> Items, int Total, int Offset, int Limit);
