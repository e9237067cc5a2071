using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using ModelKit.LocalHub;

namespace ModelKit.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser: Debian's Chromium driven by Playwright (<see cref="Browsers"/>), against the sample
/// server on Kestrel with a local hub. Signing in (an empty key first), the demo models, a deployment scaled through the
/// page (to -1 first) with its replicas changing live, the throughput chart moving under load, a download paused,
/// resumed and cancelled, keyboard use and a narrow window. Each panel's screenshot is written to the repository's
/// <c>TestResults/dashboard/</c>, beside the test results (or to MODELKIT_DASHBOARD_SCREENSHOTS).
/// </summary>
[Collection(nameof(BrowserCollection))]
public sealed class DashboardBrowserTests(HubSampleServerFactory server, Browsers browsers) : IClassFixture<HubSampleServerFactory>
{
    // Beside the test results that scripts/test.sh collects (TestResults/ at the repository's root).
    private static readonly string Shots = Environment.GetEnvironmentVariable("MODELKIT_DASHBOARD_SCREENSHOTS") is { Length: > 0 } configured
        ? configured : Path.Combine(RepositoryRoot.Path, "TestResults", "dashboard");

    private string Dashboard => new Uri(server.CreateClient().BaseAddress!, "/dashboard").ToString();

    private async Task<IPage> SignedInAsync(IBrowserContext context, string key)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync(Dashboard);
        await page.Locator("#key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^Live"));
        return page;
    }

    private static async Task ShotAsync(IPage page, string panel, string name)
    {
        Directory.CreateDirectory(Shots);
        await page.Locator($"#{panel}").ScreenshotAsync(new() { Path = Path.Combine(Shots, name + ".png") });
    }

    [Fact]
    public async Task SignIn_DemoModels_ScaleADeploymentAndWatchItsReplicas_AndEveryPanelsScreenshot()
    {
        var api = server.CreateClient();
        var deploymentId = (await server.WaitUntilRunningAsync(api, "demo-mlp")).GetProperty("deployment_id").GetString()!;
        await using var context = await browsers.Chromium.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 } });
        var page = await context.NewPageAsync();

        // The page asks for a key; an empty one is refused with a message, and the key never appears in the URL.
        await page.GotoAsync(Dashboard);
        Assert.EndsWith("/dashboard/login", page.Url, StringComparison.Ordinal);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Locator("#key-error")).ToHaveTextAsync("Enter an API key.");
        await page.GetByLabel("API key").FillAsync(SampleServerFactory.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        Assert.DoesNotContain(SampleServerFactory.AdminKey, page.Url, StringComparison.Ordinal);
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^Live"));
        await Assertions.Expect(page.Locator("[data-model='demo-mlp']")).ToBeVisibleAsync();
        var cookie = Assert.Single(await context.CookiesAsync(), c => c.Name == "modelkit_dashboard");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);

        // The keyboard reaches the skip link first, and it leads to the panels.
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("Skip to the panels", await page.EvaluateAsync<string>("document.activeElement.textContent"));

        try
        {
            await ScaleLoadAndScreenshotAsync(page, api, deploymentId);
        }
        finally
        {
            (await api.PostAsync("/api/v1/models/demo-mlp/scale", JsonContent.Create(new { replicas = 1 }))).EnsureSuccessStatusCode();
        }
    }

    private static async Task ScaleLoadAndScreenshotAsync(IPage page, HttpClient api, string deploymentId)
    {
        // Scale to -1 through the dialog: refused, with the server's reason; then to 2, and the row follows live.
        var row = page.Locator($"tr[data-deployment='{deploymentId}']");
        await page.Locator($"#scale-{deploymentId}").ClickAsync();
        await page.GetByLabel("Replicas").FillAsync("-1");
        await page.Locator("#modelkit-scale-submit").ClickAsync();
        await Assertions.Expect(page.Locator("#modelkit-scale-error")).ToHaveTextAsync("Replicas must be 1 or more (was -1); stop the deployment to run none.");
        await page.GetByLabel("Replicas").FillAsync("2");
        await page.Locator("#modelkit-scale-submit").ClickAsync();
        await Assertions.Expect(page.Locator("#message")).ToHaveTextAsync($"{deploymentId} scaled to 2 replicas.");
        Assert.Equal($"scale-{deploymentId}", await page.EvaluateAsync<string>("document.activeElement.id")); // focus back on its button
        await Assertions.Expect(row.Locator("td[data-replicas]")).ToHaveAttributeAsync("data-replicas", "2/2", new() { Timeout = 30_000 });
        // Its stages and log opened; the panel is replaced by a change (scaled back to 1 through the API), and they stay open,
        // with the new log line. The focused summary keeps the focus across the replacement.
        await page.Locator($"#details-{deploymentId} summary").ClickAsync();
        var swaps = int.Parse(await page.Locator("[data-panel='deployments']").GetAttributeAsync("data-swaps") ?? "0", CultureInfo.InvariantCulture);
        (await api.PostAsync("/api/v1/models/demo-mlp/scale", JsonContent.Create(new { replicas = 1 }))).EnsureSuccessStatusCode();
        await Assertions.Expect(row.Locator("td[data-replicas]")).ToHaveAttributeAsync("data-replicas", "1/1", new() { Timeout = 30_000 });
        Assert.True(int.Parse(await page.Locator("[data-panel='deployments']").GetAttributeAsync("data-swaps") ?? "0", CultureInfo.InvariantCulture) > swaps);
        await Assertions.Expect(page.Locator($"#details-{deploymentId}")).ToHaveAttributeAsync("open", "");
        await Assertions.Expect(page.Locator($"#details-{deploymentId} .log li").Last).ToBeVisibleAsync();
        Assert.Equal($"details-{deploymentId}", await page.EvaluateAsync<string>("document.activeElement.closest('details')?.id ?? ''"));

        // A little load, rising: four callers joining one by one, each pausing 5 ms between requests (MODELKIT_DASHBOARD_LOAD_SECONDS, default 7 s, longer for the
        // docs' screenshots). The throughput chart gets points with requests, and the queues show batch sizes.
        var loadFor = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("MODELKIT_DASHBOARD_LOAD_SECONDS"), out var seconds) ? seconds : 7);
        using (var load = new CancellationTokenSource(loadFor))
        {
            var body = JsonSerializer.Serialize(new { input_data = new[] { Enumerable.Repeat(0.5, 64).ToArray() } });
            var callers = Enumerable.Range(0, 4).Select(caller => Task.Run(async () =>
            {
                try
                {
                    await Task.Delay(loadFor * caller / 5, load.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                while (!load.IsCancellationRequested)
                {
                    using var response = await api.PostAsync("/api/v1/models/demo-mlp/inference", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
                    response.EnsureSuccessStatusCode();
                    await Task.Delay(5); // a few hundred requests a second each: under the sample key's rate limit however long it runs
                }
            })).ToArray();
            await Task.WhenAll(callers);
        }

        var chart = page.Locator("figure[data-chart='demo-mlp']");
        await Assertions.Expect(chart).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await page.WaitForFunctionAsync("() => Number(document.querySelector(\"figure[data-chart='demo-mlp']\")?.dataset.requestsPerSecond || 0) > 0", null, new() { Timeout = 15_000 });
        Assert.True(double.Parse(await chart.GetAttributeAsync("data-requests-per-second") ?? "0", CultureInfo.InvariantCulture) > 0);
        await Assertions.Expect(page.Locator("tr[data-queue='demo-mlp'] svg.histogram")).ToBeVisibleAsync();

        foreach (var (panel, _) in new[] { ("models", 0), ("deployments", 0), ("cache", 0), ("queues", 0), ("throughput", 0), ("system", 0) })
        {
            await ShotAsync(page, panel, panel);
        }

        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "page.png"), FullPage = true });
    }

    [Fact]
    public async Task ADownload_PausedResumedAndCancelledFromThePage()
    {
        server.Hub.Faults.BytesPerSecond = 2_000_000; // slow enough to act on midway
        try
        {
            var api = server.CreateClient();
            var started = await api.PostAsync("/api/downloads/start", JsonContent.Create(new { model_id = LocalHubSeeds.MiniLmRepoId, source = "huggingface", register_as = "minilm-dashboard" }));
            var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").GetProperty("task").GetProperty("id").GetString()!;
            await using var context = await browsers.Chromium.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 } });
            var page = await SignedInAsync(context, SampleServerFactory.AdminKey);
            var row = page.Locator($"tr[data-download='{id}']");
            await Assertions.Expect(row).ToHaveAttributeAsync("data-status", "downloading", new() { Timeout = 15_000 });

            await page.Locator($"#pause-download-{id}").ClickAsync();
            await Assertions.Expect(row).ToHaveAttributeAsync("data-status", "paused");
            await ShotAsync(page, "downloads", "downloads");
            await page.Locator($"#resume-download-{id}").ClickAsync();
            await Assertions.Expect(row).ToHaveAttributeAsync("data-status", new System.Text.RegularExpressions.Regex("pending|downloading"));
            await page.Locator($"#cancel-download-{id}").ClickAsync();
            await Assertions.Expect(row).ToHaveAttributeAsync("data-status", "cancelled");
        }
        finally
        {
            server.Hub.Faults.BytesPerSecond = 0;
        }
    }

    [Fact]
    public async Task AReadOnlyKey_SeesNoActions_AndANarrowWindowScrollsTablesNotThePage()
    {
        await server.WaitUntilRunningAsync(server.CreateClient(), "demo-mlp");
        await using var context = await browsers.Chromium.NewContextAsync(new() { ViewportSize = new() { Width = 420, Height = 800 } });
        var page = await SignedInAsync(context, SampleServerFactory.ReadOnlyKey);
        await Assertions.Expect(page.Locator("[data-model='demo-mlp']")).ToBeVisibleAsync();
        Assert.Equal(0, await page.Locator("button[data-action]").CountAsync());
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), "the page is wider than a 420 px window");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "narrow.png") });
    }
}
