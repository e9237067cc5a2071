namespace ModelKit.AspNetCore;

/// <summary>Seed 000's answer to delete: <c>{"message": …}</c>.</summary>
internal sealed record MessageResponse(string Message);
