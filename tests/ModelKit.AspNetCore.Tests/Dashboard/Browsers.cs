using Microsoft.Playwright;

namespace ModelKit.Tests.Dashboard;

/// <summary>
/// Chromium for the browser tests, driven by Playwright: Debian's <c>chromium</c> (MODELKIT_CHROMIUM, else
/// /usr/bin/chromium), since Playwright's own browser download is not reachable here. <c>.ci/run</c> installs it with apt.
/// </summary>
public sealed class Browsers : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private IBrowser? _chromium;

    public IBrowser Chromium => _chromium ?? throw new InvalidOperationException("Chromium did not start.");

    public async Task InitializeAsync()
    {
        var path = Environment.GetEnvironmentVariable("MODELKIT_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"The browser tests need Chromium at {path}: install Debian's chromium (apt-get install chromium) or set MODELKIT_CHROMIUM.");
        }

        _playwright = await Playwright.CreateAsync();
        _chromium = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = path, Headless = true, Args = ["--no-sandbox"] });
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null) await _chromium.DisposeAsync();
        _playwright?.Dispose();
    }
}

[CollectionDefinition(nameof(BrowserCollection))]
public sealed class BrowserCollection : ICollectionFixture<Browsers>;
