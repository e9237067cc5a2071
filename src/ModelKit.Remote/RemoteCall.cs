using System.ClientModel;
using System.Globalization;
using System.Net.Http;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ModelKit.Remote;

/// <summary>
/// One request's deadlines at a provider, and what its failures mean to ModelKit's clients. Two timers: the answer
/// timer (the model's <see cref="RemoteModel.Timeout"/>, restarted by every streamed chunk, so a provider that stalls
/// fails as PROVIDER_TIMEOUT) and the request's own <see cref="Text.TextGenerationRequest.Timeout"/> (INFERENCE_TIMEOUT).
/// The caller's cancellation passes through untouched.
/// </summary>
internal sealed class RemoteCall : IDisposable
{
    private const int MaxProviderMessage = 200;

    private readonly RemoteModel _model;
    private readonly ILogger _logger;
    private readonly CancellationToken _caller;
    private readonly TimeSpan? _requestTimeout;
    private readonly CancellationTokenSource _answer;
    private readonly CancellationTokenSource? _request;
    private readonly CancellationTokenSource _linked;

    public RemoteCall(RemoteModel model, TimeSpan? requestTimeout, TimeProvider timeProvider, ILogger logger, CancellationToken cancellationToken)
    {
        _model = model;
        _logger = logger;
        _caller = cancellationToken;
        _requestTimeout = requestTimeout;
        _answer = new CancellationTokenSource(model.Timeout, timeProvider);
        _request = requestTimeout is { } limit ? new CancellationTokenSource(limit, timeProvider) : null;
        _linked = _request is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _answer.Token)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _answer.Token, _request.Token);
    }

    /// <summary>The token every provider call of this request runs with.</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>The provider sent something: its next chunk gets a full timeout again.</summary>
    public void Answered()
    {
        if (!_answer.IsCancellationRequested) _answer.CancelAfter(_model.Timeout);
    }

    /// <summary>Stops every provider call of this request (a choice failed, or the consumer left).</summary>
    public void Cancel() => _linked.Cancel();

    /// <summary>
    /// What <paramref name="exception"/> means to the client: the caller's cancellation as is; a timer's as
    /// INFERENCE_TIMEOUT or PROVIDER_TIMEOUT; the provider's HTTP errors by status (its 400s are the client's mistakes,
    /// INVALID_INPUT with the provider's words; its 401/403/404 and 5xx are PROVIDER_UNAVAILABLE; 429 QUEUE_FULL); a
    /// provider that cannot be reached or answers unreadably PROVIDER_UNAVAILABLE. The provider's address and ModelKit's
    /// key never appear; the log has the address.
    /// </summary>
    public Exception Translate(Exception exception)
    {
        if (exception is ModelKitException known)
        {
            if (known is ProviderUnavailableException or ProviderTimeoutException) _model.Failed(timedOut: known is ProviderTimeoutException);
            return exception;
        }

        // The client's retry policy reports every attempt's failure together; the last one says what happened.
        if (exception is AggregateException { InnerExceptions.Count: > 0 } attempts) return Translate(attempts.InnerExceptions[^1]);
        if (_caller.IsCancellationRequested && exception is OperationCanceledException) return exception;
        if (_request?.IsCancellationRequested == true && exception is OperationCanceledException)
        {
            _model.Failed(timedOut: true);
            return new InferenceTimeoutException(
                $"The generation with {_model.Describe()} did not finish within its timeout of {Seconds(_requestTimeout!.Value)} s.");
        }

        // The answer timer, or the client's network timeout (reported with a TimeoutException inside). Another
        // cancellation that none of the timers or the caller caused is the transport giving up on a broken connection.
        if (_answer.IsCancellationRequested || HasTimeout(exception))
        {
            _model.Failed(timedOut: true);
            Log.ProviderTimedOut(_logger, _model.Info.Id, _model.Info.Provider, _model.Timeout.TotalSeconds, _model.Host);
            return new ProviderTimeoutException(
                $"The provider did not answer for {_model.Describe()} within {Seconds(_model.Timeout)} s; it may be down or overloaded. Try again later.", exception);
        }

        _model.Failed(timedOut: false);
        return exception switch
        {
            ClientResultException { Status: > 0 } http => FromStatus(http),
            ClientResultException or HttpRequestException => Unreachable(exception),
            IOException or OperationCanceledException => Unavailable($"The connection to the provider of {_model.Describe()} broke during the answer.", exception, 0),
            JsonException or FormatException or InvalidOperationException or ArgumentException =>
                Unavailable($"The provider of {_model.Describe()} answered with something ModelKit cannot read as a chat completion.", exception, 0),
            _ => exception,
        };
    }

    private Exception FromStatus(ClientResultException http)
    {
        var said = ProviderMessage(http);
        var quoted = said is null ? "" : $": {said}";
        return http.Status switch
        {
            400 or 422 => new InvalidInputException($"The provider refused the request for {_model.Describe()}{quoted}"),
            413 => new PayloadTooLargeException($"The provider refused the request for {_model.Describe()} as too large{quoted}"),
            429 => new QueueFullException($"The provider is limiting requests for {_model.Describe()}{quoted}. Retry later.", RetryAfter(http)),
            401 or 403 => Unavailable(
                $"The provider refused this server's credentials for {_model.Describe()} (HTTP {http.Status}); the operator must check the model's ApiKey.", http, http.Status),
            404 => Unavailable(
                $"The provider does not know {_model.Describe()} (HTTP 404){quoted}; the operator must check the model's Endpoint and Model.", http, http.Status),
            408 or 504 => new ProviderTimeoutException($"The provider timed out answering for {_model.Describe()} (HTTP {http.Status}){quoted}", http),
            _ => Unavailable($"The provider failed for {_model.Describe()} (HTTP {http.Status}){quoted}", http, http.Status),
        };
    }

    private ProviderUnavailableException Unreachable(Exception exception)
    {
        var reason = (exception as HttpRequestException ?? exception.InnerException as HttpRequestException)?.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => "its host name does not resolve",
            HttpRequestError.ConnectionError => "the connection was refused or dropped",
            HttpRequestError.SecureConnectionError => "the TLS handshake failed",
            HttpRequestError.ResponseEnded => "it closed the connection before answering",
            HttpRequestError.InvalidResponse => "it sent an invalid HTTP response",
            _ => "the request could not be sent",
        };
        return Unavailable($"The provider of {_model.Describe()} could not be reached ({reason}). Try again later.", exception, 0);
    }

    private ProviderUnavailableException Unavailable(string message, Exception exception, int status)
    {
        Log.ProviderFailed(_logger, _model.Info.Id, _model.Info.Provider, status, _model.Host, exception.Message, exception);
        return new ProviderUnavailableException(message, exception);
    }

    // The provider's own words: OpenAI's {"error": {"message"}}, a plain {"message"} or {"error": "…"}, problem details' "detail".
    private static string? ProviderMessage(ClientResultException http)
    {
        try
        {
            if (http.GetRawResponse()?.Content is not { } content || content.ToMemory().Length == 0) return null;
            using var document = JsonDocument.Parse(content.ToMemory());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            string? text = null;
            if (root.TryGetProperty("error", out var error))
            {
                text = error.ValueKind == JsonValueKind.String ? error.GetString()
                    : error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            }

            if (text is null && root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String) text = message.GetString();
            if (text is null && root.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String) text = detail.GetString();
            if (string.IsNullOrWhiteSpace(text)) return null;
            text = string.Concat(text.Select(c => char.IsControl(c) ? ' ' : c)).Trim();
            return text.Length <= MaxProviderMessage ? text : text[..MaxProviderMessage] + "…";
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static TimeSpan RetryAfter(ClientResultException http) =>
        http.GetRawResponse()?.Headers.TryGetValue("Retry-After", out var value) == true
        && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 3600
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromSeconds(1);

    private static bool HasTimeout(Exception exception)
    {
        for (var inner = exception; inner is not null; inner = inner.InnerException)
        {
            if (inner is TimeoutException) return true;
        }

        return false;
    }

    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        _linked.Dispose();
        _request?.Dispose();
        _answer.Dispose();
    }
}
