using System.Net;
using System.Text;
using System.Text.Json;

namespace ModelKit.Tests;

/// <summary>The REST tests' shared request and response helpers.</summary>
internal static class Http
{
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>
    /// Asserts the status and returns the JSON body. With <paramref name="code"/>, the body must carry that error code where
    /// its surface's error shape puts it: problem details' <c>code</c> (with the same <c>status</c>), <c>error.code</c>
    /// (seeds 000 and 003), or <c>error</c> as a string (seeds 001, 002 and 004, and the Open Inference Protocol's <c>code</c>).
    /// </summary>
    public static async Task<JsonElement> ExpectAsync(HttpResponseMessage response, HttpStatusCode status, string? code = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {text}");
        var json = JsonDocument.Parse(text).RootElement;
        if (code is not null)
        {
            if (response.Content.Headers.ContentType?.MediaType == "application/problem+json") Assert.Equal((int)status, json.GetProperty("status").GetInt32());
            Assert.True(CodeOf(json) == code, $"expected error code {code}: {text}");
        }

        return json;
    }

    /// <summary>The error code in a body of any of the surfaces' error shapes, or null.</summary>
    public static string? CodeOf(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object) return null;
        if (body.TryGetProperty("error", out var error))
        {
            if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var nested) && nested.ValueKind == JsonValueKind.String) return nested.GetString();
            if (error.ValueKind == JsonValueKind.String && !body.TryGetProperty("code", out _)) return error.GetString();
            if (error.ValueKind == JsonValueKind.String && body.TryGetProperty("code", out var number) && number.ValueKind == JsonValueKind.Number) return error.GetString();
        }

        return body.TryGetProperty("code", out var direct) && direct.ValueKind == JsonValueKind.String ? direct.GetString() : null;
    }
}
