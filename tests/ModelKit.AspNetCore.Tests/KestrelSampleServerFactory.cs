using Microsoft.AspNetCore.Hosting;

namespace ModelKit.Tests;

/// <summary>
/// The sample server on Kestrel, over a real socket on a free loopback port (not the test server): for the seed example
/// suites, which send each document's requests as a client would. <see cref="SampleServerFactory.CreateClient()"/> clients
/// connect to it and send the admin key.
/// </summary>
public class KestrelSampleServerFactory : SampleServerFactory
{
    private readonly bool _serveMiniLm;
    private readonly bool _serveChatModel;

    /// <summary>Starts the server with the demo models (an xunit class fixture).</summary>
    public KestrelSampleServerFactory()
        : this(serveMiniLm: false)
    {
    }

    /// <summary>
    /// Starts the server; with <paramref name="serveMiniLm"/>, it also serves the real all-MiniLM-L6-v2, with
    /// <paramref name="serveChatModel"/> its generated chat model (gpt2-gettysburg).
    /// </summary>
    internal KestrelSampleServerFactory(bool serveMiniLm, bool serveChatModel = false)
    {
        _serveMiniLm = serveMiniLm;
        _serveChatModel = serveChatModel;
        UseKestrel(0);
        StartServer();
    }

    protected override bool ServeMiniLm => _serveMiniLm;

    protected override bool ServeChatModel => _serveChatModel;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("urls", "http://127.0.0.1:0"); // not the sample's default ports 8080/8081
    }
}
