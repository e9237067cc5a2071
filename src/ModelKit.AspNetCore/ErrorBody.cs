namespace ModelKit.AspNetCore;

internal sealed record ErrorBody(string Code, string Message);
