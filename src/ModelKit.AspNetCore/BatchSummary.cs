namespace ModelKit.AspNetCore;

internal sealed record BatchSummary(int Total, int Succeeded, int Failed, double ProcessingTime);
