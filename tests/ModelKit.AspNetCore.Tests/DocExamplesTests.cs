using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics;
using Microsoft.AspNetCore.Hosting;

namespace ModelKit.Tests;

/// <summary>
/// The documents' curl examples, run with the real curl against the sample server on a real socket: every call must
/// answer 2xx, or the status the document says. Keeps docs/rest-api.md and the README true.
/// </summary>
public sealed class DocExamplesTests
{
    [Theory]
    [InlineData("docs/rest-api.md")]
    [InlineData("README.md")]
    public async Task CurlExamples_AnswerAsDocumented(string document)
    {
        await using var factory = new KestrelSampleServerFactory();
        factory.UseKestrel();
        factory.StartServer();
        var client = factory.CreateClient();
        await factory.WaitUntilRunningAsync(client, "demo-mlp");
        await factory.WaitUntilRunningAsync(client, "demo-bert");
        await factory.WaitUntilRunningAsync(client, "all-MiniLM-L6-v2");

        await AssertAnswerAsDocumentedAsync(document, client.BaseAddress!);
    }

    /// <summary>Runs <paramref name="document"/>'s bash blocks with the real curl against <paramref name="server"/> (scripts/check-doc-examples.sh).</summary>
    internal static async Task AssertAnswerAsDocumentedAsync(string document, Uri server)
    {
        var script = Path.Combine(RepositoryRoot.Path, "scripts", "check-doc-examples.sh");
        var start = new ProcessStartInfo("bash", [script, Path.Combine(RepositoryRoot.Path, document), server.ToString().TrimEnd('/')])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryRoot.Path,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        var report = await output + await errors;
        Assert.True(process.ExitCode == 0, report);
        Assert.Contains(" 0 not as documented", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SampleServer_Urls_ReplaceTheDefaultPorts()
    {
        // As `--urls http://127.0.0.1:0` (ASPNETCORE_URLS lands in the same setting) would: the server listens there only.
        await using var factory = new KestrelSampleServerFactory();
        factory.UseKestrel();
        factory.StartServer();
        var addresses = factory.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses;
        var address = Assert.Single(addresses);
        Assert.StartsWith("http://127.0.0.1:", address, StringComparison.Ordinal);
        Assert.DoesNotContain(":8080", address, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await factory.CreateClient().GetAsync("/health")).StatusCode);
    }

    // The sample server on Kestrel at a free loopback port, given as the host's URLs (what --urls sets).
    private sealed class KestrelSampleServerFactory : SampleServerFactory
    {
        protected override bool ServeMiniLm => true; // the documents' embeddings examples

        protected override bool ServeChatModel => true; // the documents' chat and completion examples

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("urls", "http://127.0.0.1:0");
        }
    }
}
