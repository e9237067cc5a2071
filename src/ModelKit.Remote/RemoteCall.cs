using System.ClientModel;
using System.Globalization;
using System.Net.Http;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ModelKit.Remote;

/// <summary>
/// One request to a remote model (one or more provider requests, one per choice): its deadlines, its first failure, and
/// what failures mean to ModelKit's clients. Each provider request runs with its own <see cref="AnswerTimer"/> (the
/// model's <see cref="RemoteModel.Timeout"/>, for the whole answer or for each next streamed chunk), all of them with the
/// caller's token and the request's own <see cref="Text.TextGenerationRequest.Timeout"/>. The first failure of any
/// provider request is recorded (<see cref="Fail"/>) and stops the others; cancellations that follow it, or that the
/// request itself caused (<see cref="Stop"/>), are not failures.
/// </summary>
internal sealed class RemoteCall : IDisposable
{
    private const int MaxProviderMessage = 200;

    private readonly RemoteModel _model;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationToken _caller;
    private readonly TimeSpan? _requestTimeout;
    private readonly CancellationTokenSource? _request;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _linked;
    private readonly Lock _gate = new();
    private Exception? _failure;
    private bool _stopped;

    public RemoteCall(RemoteModel model, TimeSpan? requestTimeout, TimeProvider timeProvider, ILogger logger, CancellationToken cancellationToken)
    {
        _model = model;
        _logger = logger;
        _time = timeProvider;
        _caller = cancellationToken;
        _requestTimeout = requestTimeout;
        _request = requestTimeout is { } limit ? new CancellationTokenSource(limit, timeProvider) : null;
        _linked = _request is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token, _request.Token);
    }

    /// <summary>Cancelled when the caller cancels, the request's timeout passes, or the request stops (a failure, or the consumer left).</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>The first failure, translated for the client; null while none.</summary>
    public Exception? Failure
    {
        get
        {
            lock (_gate) return _failure;
        }
    }

    /// <summary>A timer for one provider request, started now.</summary>
    public AnswerTimer StartAnswerTimer() => new(_model.Timeout, _time, Token);

    /// <summary>
    /// Records <paramref name="exception"/> of a provider request (timed by <paramref name="timer"/>) as the request's
    /// failure, unless one is recorded already or the request was stopped, and stops the other provider requests.
    /// </summary>
    public void Fail(Exception exception, AnswerTimer? timer)
    {
        lock (_gate)
        {
            if (_failure is not null || _stopped) return;
            _failure = Translate(exception, timer);
            _stopped = true;
        }

        _stop.Cancel();
    }

    /// <summary>Stops every provider request without a failure (the consumer left, or all is done).</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (_stopped) return;
            _stopped = true;
        }

        _stop.Cancel();
    }

    /// <summary>
    /// What <paramref name="exception"/> means to the client: the caller's cancellation as is; a timer's as
    /// INFERENCE_TIMEOUT or PROVIDER_TIMEOUT; the provider's HTTP errors by status (its 400s are the client's mistakes,
    /// INVALID_INPUT with the provider's words; its 401/403/404 and 5xx are PROVIDER_UNAVAILABLE; 429 QUEUE_FULL); a
    /// provider that cannot be reached, breaks the connection or answers unreadably PROVIDER_UNAVAILABLE. The provider's
    /// address and the key never appear in a message; the log has the host.
    /// </summary>
    private Exception Translate(Exception exception, AnswerTimer? timer)
    {
        // The client's retry policy reports every attempt's failure together; the last one says what happened.
        while (exception is AggregateException { InnerExceptions.Count: > 0 } attempts) exception = attempts.InnerExceptions[^1];
        if (_caller.IsCancellationRequested && exception is OperationCanceledException) return exception;

        var translated = exception switch
        {
            ModelKitException known => known,
            OperationCanceledException when _request?.IsCancellationRequested == true => new InferenceTimeoutException(
                $"The generation with {_model.Describe()} did not finish within its timeout of {Seconds(_requestTimeout!.Value)} s."),
            _ when timer?.Fired == true || HasTimeout(exception) => TimedOut(exception),
            ClientResultException { Status: > 0 } http => FromStatus(http),
            ClientResultException or HttpRequestException => Unreachable(exception),

            // A cancellation that neither the caller, a timer nor the request caused is the transport giving up on a broken connection.
            IOException or OperationCanceledException => Unavailable($"The connection to the provider of {_model.Describe()} broke during the answer.", exception, 0),
            JsonException or FormatException or InvalidOperationException or ArgumentException or NullReferenceException =>
                Unavailable($"The provider of {_model.Describe()} answered with something ModelKit cannot read as a chat completion.", exception, 0),
            _ => exception,
        };
        if (translated is not ModelKitException and not OperationCanceledException) return translated; // a bug here: the surfaces log it and answer 500
        // The provider's availability: its refusals of a client's mistakes are not its failures.
        if (translated is ProviderTimeoutException or InferenceTimeoutException) _model.Failed(timedOut: true);
        else if (translated is not (OperationCanceledException or InvalidInputException or PayloadTooLargeException)) _model.Failed(timedOut: false);
        return translated;
    }

    private ProviderTimeoutException TimedOut(Exception exception)
    {
        Log.ProviderTimedOut(_logger, _model.Info.Id, _model.Info.Provider, _model.Timeout.TotalSeconds, _model.Host);
        return new ProviderTimeoutException(
            $"The provider did not answer for {_model.Describe()} within {Seconds(_model.Timeout)} s; it may be down or overloaded. Try again later.", exception);
    }

    private Exception FromStatus(ClientResultException http)
    {
        var said = ProviderMessage(http);
        var quoted = said is null ? "" : $": {said}";
        Log.ProviderAnswered(_logger, _model.Info.Id, _model.Info.Provider, http.Status, _model.Host, said ?? "", http);
        return http.Status switch
        {
            // The provider's words are quoted only where they are about the request; its other errors may name its own infrastructure.
            400 or 422 => new InvalidInputException($"The provider refused the request for {_model.Describe()}{quoted}"),
            413 => new PayloadTooLargeException($"The provider refused the request for {_model.Describe()} as too large{quoted}"),
            429 => new QueueFullException($"The provider is limiting requests for {_model.Describe()}{quoted}. Retry later.", RetryAfter(http)),
            401 or 403 => new ProviderUnavailableException(
                $"The provider refused this server's credentials for {_model.Describe()} (HTTP {http.Status}); the operator must check the model's ApiKey.", http),
            404 => new ProviderUnavailableException(
                $"The provider does not know {_model.Describe()} (HTTP 404); the operator must check the model's Endpoint and Model.", http),
            408 or 504 => new ProviderTimeoutException($"The provider timed out answering for {_model.Describe()} (HTTP {http.Status}). Try again later.", http),
            _ => new ProviderUnavailableException($"The provider failed for {_model.Describe()} (HTTP {http.Status}). Try again later.", http),
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

    // The provider's own words: OpenAI's {"error": {"message"}}, a plain {"message"} or {"error": "…"}, problem details'
    // "detail"; without control characters, the provider's host or address, or the key, and at most 200 characters.
    private string? ProviderMessage(ClientResultException http)
    {
        string? text = null;
        try
        {
            if (http.GetRawResponse()?.Content is not { } content || content.ToMemory().Length == 0) return null;
            using var document = JsonDocument.Parse(content.ToMemory());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            if (root.TryGetProperty("error", out var error))
            {
                text = error.ValueKind == JsonValueKind.String ? error.GetString()
                    : error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            }

            if (text is null && root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String) text = message.GetString();
            if (text is null && root.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String) text = detail.GetString();
        }
        catch (JsonException)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(text)) return null;
        text = _model.Scrub(string.Concat(text.Select(c => char.IsControl(c) ? ' ' : c)).Trim());
        return text.Length <= MaxProviderMessage ? text : text[..MaxProviderMessage] + "…";
    }

    // The provider's hint: retry-after-ms (OpenAI's), Retry-After in seconds or as a date; 1 s when it gives none.
    private TimeSpan RetryAfter(ClientResultException http)
    {
        var headers = http.GetRawResponse()?.Headers;
        if (headers?.TryGetValue("retry-after-ms", out var ms) == true
            && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds is > 0 and <= 3_600_000)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }

        if (headers?.TryGetValue("Retry-After", out var value) == true)
        {
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 3600) return TimeSpan.FromSeconds(seconds);
            if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && at - _time.GetUtcNow() is { } wait
                && wait > TimeSpan.Zero && wait <= TimeSpan.FromHours(1))
            {
                return wait;
            }
        }

        return TimeSpan.FromSeconds(1);
    }

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
        _stop.Dispose();
    }

    /// <summary>
    /// How long one provider request may stay silent: the model's timeout, for the whole answer, or, streamed, from the
    /// request to the first chunk and between chunks. Paused while the consumer is slow to take what came.
    /// </summary>
    public sealed class AnswerTimer : IDisposable
    {
        private readonly TimeSpan _timeout;
        private readonly CancellationTokenSource _timer;
        private readonly CancellationTokenSource _linked;

        public AnswerTimer(TimeSpan timeout, TimeProvider timeProvider, CancellationToken request)
        {
            _timeout = timeout;
            _timer = new CancellationTokenSource(timeout, timeProvider);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(request, _timer.Token);
        }

        /// <summary>Cancelled when the timer fires or the request is cancelled.</summary>
        public CancellationToken Token => _linked.Token;

        /// <summary>Whether the timer itself fired.</summary>
        public bool Fired => _timer.IsCancellationRequested;

        /// <summary>The provider sent something: the timer stops until <see cref="Restart"/>.</summary>
        public void Pause()
        {
            if (!_timer.IsCancellationRequested) _timer.CancelAfter(Timeout.InfiniteTimeSpan);
        }

        /// <summary>Waiting for the provider again: a full timeout from now.</summary>
        public void Restart()
        {
            if (!_timer.IsCancellationRequested) _timer.CancelAfter(_timeout);
        }

        public void Dispose()
        {
            _linked.Dispose();
            _timer.Dispose();
        }
    }
}
