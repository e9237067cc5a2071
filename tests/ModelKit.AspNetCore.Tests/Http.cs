using System.Net;
using System.Text;
using System.Text.Json;

namespace ModelKit.Tests;

/// <summary>The REST tests' shared request and response helpers.</summary>
internal static class Http
{
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>
    /// Asserts the status and returns the JSON body. With <paramref name="code"/>, the body must be problem details
    /// (<c>application/problem+json</c>) carrying that code and the same status.
    /// </summary>
    public static async Task<JsonElement> ExpectAsync(HttpResponseMessage response, HttpStatusCode status, string? code = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {text}");
        var json = JsonDocument.Parse(text).RootElement;
        if (code is not null)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(code, json.GetProperty("code").GetString());
            Assert.Equal((int)status, json.GetProperty("status").GetInt32());
        }

        return json;
    }
}
