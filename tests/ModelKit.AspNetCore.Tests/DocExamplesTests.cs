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

        var script = Path.Combine(RepositoryRoot.Path, "scripts", "check-doc-examples.sh");
        var start = new ProcessStartInfo("bash", [script, Path.Combine(RepositoryRoot.Path, document), client.BaseAddress!.ToString().TrimEnd('/')])
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

    // The sample server on Kestrel with both of its endpoints on free loopback ports instead of 8080 and 8081.
    private sealed class KestrelSampleServerFactory : SampleServerFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("Kestrel:Endpoints:Rest:Url", "http://127.0.0.1:0");
            builder.UseSetting("Kestrel:Endpoints:Grpc:Url", "http://127.0.0.1:0");
        }
    }
}
