using Microsoft.AspNetCore.Http;

namespace ModelKit.AspNetCore;

/// <summary>Seed 004's downloads: 501 until the download manager (issue 13); storage is answered from the registry and the disk.</summary>
internal static class LlmDownloadEndpoints
{
    private const string Missing = "Model downloads are not built yet: they arrive with issue 13 (hub sources, queue, pause/resume, progress). Register or upload models meanwhile (POST /api/v1/models).";

    public static IResult NotBuilt() => throw new NotBuiltException(Missing);

    public static IResult ProgressSocket() =>
        throw new NotBuiltException("Download progress over WebSocket arrives with downloads (issue 13).");
}
