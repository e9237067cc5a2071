using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

/// <summary>The seeds' JSON conventions (snake_case names, enums as snake_case strings) and body reading with clear errors.</summary>
internal static class ModelKitJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // NaN and ±Infinity as "NaN", "Infinity"
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower), new RawJsonConverter() },
    };

    /// <summary>Reads the body as <typeparamref name="T"/>; malformed JSON, wrong types and an empty body are INVALID_INPUT.</summary>
    public static async Task<T> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class
    {
        if (request.ContentLength == 0) throw new InvalidInputException("The request body is empty; a JSON object is expected.");
        ApplyBodyLimit(request);
        if (request.ContentType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidInputException($"The body must be JSON (Content-Type: application/json), not '{type}'.");
        }

        await ModelKitLargeBodies.EnterAsync(request, cancellationToken).ConfigureAwait(false);

        // The body is buffered in the server's pipe (its pooled blocks, released when read) and parsed in one pass from
        // there: no growing copy of it, and no pooled buffer the size of the largest body ever seen kept afterwards.
        var body = request.HttpContext.Request.BodyReader;
        ReadResult read;
        while (true)
        {
            read = await body.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (read.IsCompleted || read.IsCanceled) break;
            body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }

        try
        {
            if (read.Buffer.IsEmpty) throw new InvalidInputException("The request body is empty; a JSON object is expected.");
            return Deserialize<T>(read.Buffer) ?? throw new InvalidInputException("The request body is null; a JSON object is expected.");
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 0 } path && path != "$" ? $" at {path}" : string.Empty;
            // The serializer names .NET types ("could not be converted to System.Nullable`1[System.Int32]"): say it in the wire's terms.
            throw new InvalidInputException(ex.Message.Contains("could not be converted to", StringComparison.Ordinal)
                ? where.Length == 0
                    ? "The request body must be a JSON object with the endpoint's fields (see its schema at /docs)."
                    : $"The value{where} has the wrong JSON type for that field (see the endpoint's schema at /docs)."
                : $"The request body is not valid JSON for this endpoint{where}: {FirstSentence(ex.Message)}");
        }
        finally
        {
            body.AdvanceTo(read.Buffer.End);
        }
    }

    private static T? Deserialize<T>(ReadOnlySequence<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = Options.MaxDepth == 0 ? 64 : Options.MaxDepth });
        RawJsonConverter.Source = utf8; // inputs (RawJson) are sliced from the body, not rebuilt as documents
        try
        {
            return JsonSerializer.Deserialize<T>(ref reader, Options);
        }
        finally
        {
            RawJsonConverter.Source = null;
        }
    }

    /// <summary>
    /// Refuses a declared Content-Length over <c>ModelKit:Http:MaxJsonBodyBytes</c> with PAYLOAD_TOO_LARGE and lowers
    /// Kestrel's limit to it for chunked bodies; returns the limit.
    /// </summary>
    public static long ApplyBodyLimit(HttpRequest request)
    {
        var limit = request.HttpContext.RequestServices.GetService<IOptions<ModelKitHttpOptions>>()?.Value.MaxJsonBodyBytes ?? (64L << 20);
        if (request.ContentLength > limit)
        {
            throw new PayloadTooLargeException($"The body is {request.ContentLength} bytes; the limit is {limit} bytes (ModelKit:Http:MaxJsonBodyBytes).");
        }

        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit;
        return limit;
    }

    /// <summary>An enum value as the wire writes it (snake_case, as <see cref="Options"/>' converter does): <c>InProgress</c> → <c>in_progress</c>.</summary>
    public static string Name<TEnum>(TEnum value)
        where TEnum : struct, Enum => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    public static IResult Json(object? value, int statusCode = StatusCodes.Status200OK) =>
        Results.Json(value, Options, statusCode: statusCode);

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". Path:", StringComparison.Ordinal);
        return end > 0 ? message[..end] + "." : message;
    }
}
