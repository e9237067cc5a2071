using Microsoft.AspNetCore.Hosting;

namespace ModelKit.Grpc.Tests;

/// <summary>
/// The sample server for <c>model.ModelService</c>'s tests: with its generated chat model (gpt2-gettysburg) and
/// all-MiniLM-L6-v2 (from its NuGet package), beside the demo models.
/// </summary>
public sealed class ModelServiceServer : GrpcSampleServer
{
    /// <summary>The sample's chat model.</summary>
    public const string ChatModel = "gpt2-gettysburg";

    /// <summary>The sample's text encoder.</summary>
    public const string Encoder = "all-MiniLM-L6-v2";

    protected override bool ServeChatModel => true;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("ModelKit:ServeMiniLm", "true");
    }
}
