using Microsoft.Extensions.Logging;

namespace ModelKit.Remote;

/// <summary>ModelKit.Remote's log messages (event ids 4000–4099).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Warning, Message = "Remote model {ModelId} (provider {Provider}) failed: HTTP {Status} from {Host}: {Detail}")]
    public static partial void ProviderFailed(ILogger logger, string modelId, string provider, int status, string host, string detail, Exception exception);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Remote model {ModelId} (provider {Provider}) did not answer within {TimeoutSeconds} s ({Host})")]
    public static partial void ProviderTimedOut(ILogger logger, string modelId, string provider, double timeoutSeconds, string host);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Remote model {ModelId} (provider {Provider}) answered HTTP {Status} from {Host}: {Detail}")]
    public static partial void ProviderAnswered(ILogger logger, string modelId, string provider, int status, string host, string detail, Exception exception);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Serving {Count} remote models: {ModelIds}")]
    public static partial void RemoteModelsConfigured(ILogger logger, int count, string modelIds);
}
