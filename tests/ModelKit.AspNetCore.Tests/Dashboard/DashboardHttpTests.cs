using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ModelKit.Tests.Dashboard;

/// <summary>
/// The dashboard over HTTP (the sample server on the test server): the login form and its session cookie, the page,
/// the live stream of panels, the actions and their scopes, bad input through them, and the page's own files.
/// </summary>
public sealed class DashboardHttpTests(SampleServerFactory factory) : IClassFixture<SampleServerFactory>
{
    // A browser-like client: cookies kept, redirects not followed (so that each is seen), no API key header.
    private HttpClient Browser()
    {
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        client.DefaultRequestHeaders.Remove("X-API-Key");
        return client;
    }

    private static Task<HttpResponseMessage> LogInAsync(HttpClient client, string key) =>
        client.PostAsync("/dashboard/login", new FormUrlEncodedContent([new("key", key)]));

    private static HttpRequestMessage Action(string path, object? body = null, bool header = true)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body ?? new { }) };
        if (header) request.Headers.Add("X-ModelKit-Dashboard", "1");
        return request;
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;

    [Fact]
    public async Task Login_AsksForAKey_RefusesEmptyAndWrongOnes_AndKeepsAGoodOneAsAnHttpOnlyStrictSessionCookie()
    {
        await factory.WaitUntilRunningAsync(factory.CreateClient(), "demo-mlp");
        using var browser = Browser();

        var page = await browser.GetAsync("/dashboard");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/dashboard/login", page.Headers.Location?.OriginalString);
        var form = await browser.GetAsync("/dashboard/login");
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        Assert.Contains("<label for=\"key\">API key</label>", await form.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var empty = await LogInAsync(browser, "  ");
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Contains("Enter an API key.", await empty.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var wrong = await LogInAsync(browser, "not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("That API key is not valid.", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(wrong.Headers.Contains("Set-Cookie"));

        var good = await LogInAsync(browser, SampleServerFactory.ReadOnlyKey);
        Assert.Equal(HttpStatusCode.Redirect, good.StatusCode);
        Assert.Equal("/dashboard/", good.Headers.Location?.OriginalString);
        var cookie = Assert.Single(good.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("modelkit_dashboard=", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/dashboard", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("expires", cookie, StringComparison.OrdinalIgnoreCase); // a session cookie
        Assert.DoesNotContain(SampleServerFactory.ReadOnlyKey, cookie, StringComparison.Ordinal);

        Assert.Equal("sample-reader", (await browser.GetFromJsonAsync<JsonElement>("/dashboard/session")).GetProperty("user").GetString());
        var signedIn = await browser.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        var html = await signedIn.Content.ReadAsStringAsync();
        Assert.Contains("data-model=\"demo-mlp\"", html, StringComparison.Ordinal);
        Assert.Contains("read only", html, StringComparison.Ordinal);
        Assert.DoesNotContain("data-action=", html, StringComparison.Ordinal); // no actions for a read key
        Assert.DoesNotContain(SampleServerFactory.ReadOnlyKey, html, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", signedIn.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        // A copy of the session's cookie (taken, say, from the machine), with the live stream open on it.
        using var copy = Browser();
        copy.DefaultRequestHeaders.Add("Cookie", cookie.Split(';')[0]);
        Assert.Equal(HttpStatusCode.OK, (await copy.GetAsync("/dashboard/session")).StatusCode);
        using var stream = await copy.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/dashboard/events"), HttpCompletionOption.ResponseHeadersRead);
        using var events = new StreamReader(await stream.Content.ReadAsStreamAsync());

        // Signed out: the cookie is cleared, the page asks for a key again, and the session is over for its copies too:
        // the copy is refused and the stream on it ends with a signed-out event.
        var signedOut = await browser.PostAsync("/dashboard/logout", null);
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/dashboard/session")).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/dashboard/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await copy.GetAsync("/dashboard/session")).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await copy.GetAsync("/dashboard/")).StatusCode);
        var seen = new List<string>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            while (await events.ReadLineAsync(timeout.Token) is { } line) seen.Add(line); // to the stream's end
        }

        Assert.Equal("event: signed-out", seen.LastOrDefault(line => line.StartsWith("event:", StringComparison.Ordinal)));

        // Signing in again from a browser ends the session it had: a copy of the earlier cookie is refused.
        var first = (await LogInAsync(browser, SampleServerFactory.ReadOnlyKey)).Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        using var earlier = Browser();
        earlier.DefaultRequestHeaders.Add("Cookie", first);
        Assert.Equal(HttpStatusCode.OK, (await earlier.GetAsync("/dashboard/session")).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await LogInAsync(browser, SampleServerFactory.ReadOnlyKey)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await earlier.GetAsync("/dashboard/session")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/dashboard/session")).StatusCode);

        // A form the server cannot read is a 400 with the login page, not an error.
        var broken = new StringContent("key=x", System.Text.Encoding.UTF8);
        broken.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("multipart/form-data");
        var unreadable = await browser.PostAsync("/dashboard/login", broken);
        Assert.Equal(HttpStatusCode.BadRequest, unreadable.StatusCode);
        Assert.Contains("The form could not be read", await unreadable.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // A forged cookie is no session.
        using var forged = Browser();
        forged.DefaultRequestHeaders.Add("Cookie", "modelkit_dashboard=" + Convert.ToBase64String(new byte[64]));
        Assert.Equal(HttpStatusCode.Redirect, (await forged.GetAsync("/dashboard/")).StatusCode);
    }

    [Fact]
    public async Task Actions_NeedTheManageScopeAndThePagesHeader_RefuseBadReplicasWithAMessage_AndScale()
    {
        var api = factory.CreateClient();
        var status = await factory.WaitUntilRunningAsync(api, "demo-mlp");
        var deploymentId = status.GetProperty("deployment_id").GetString()!;
        var scale = $"/dashboard/actions/deployments/{deploymentId}/scale";

        using var reader = Browser();
        await LogInAsync(reader, SampleServerFactory.ReadOnlyKey);
        var forbidden = await reader.SendAsync(Action(scale, new { replicas = 2 }));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("manage scope", await ErrorOf(forbidden), StringComparison.Ordinal);

        using var admin = Browser();
        await LogInAsync(admin, SampleServerFactory.AdminKey);
        var noHeader = await admin.SendAsync(Action(scale, new { replicas = 2 }, header: false));
        Assert.Equal(HttpStatusCode.BadRequest, noHeader.StatusCode);
        var crossSite = Action(scale, new { replicas = 2 });
        crossSite.Headers.Add("Sec-Fetch-Site", "cross-site");
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.SendAsync(crossSite)).StatusCode);

        var negative = await admin.SendAsync(Action(scale, new { replicas = -1 }));
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        Assert.Equal("Replicas must be 1 or more (was -1); stop the deployment to run none.", await ErrorOf(negative));
        var zero = await admin.SendAsync(Action(scale, new { replicas = 0 }));
        Assert.Equal(HttpStatusCode.BadRequest, zero.StatusCode);
        var empty = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Post, scale) { Headers = { { "X-ModelKit-Dashboard", "1" } }, Content = new StringContent("not json") });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Contains("not JSON", await ErrorOf(empty), StringComparison.Ordinal);
        var text = await admin.SendAsync(Action(scale, new { replicas = "many" }));
        Assert.Equal(HttpStatusCode.BadRequest, text.StatusCode);
        Assert.Equal("Replicas must be a whole number.", await ErrorOf(text));
        var unknown = await admin.SendAsync(Action("/dashboard/actions/deployments/no-such-deployment/stop"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no-such-deployment", await ErrorOf(unknown), StringComparison.Ordinal);
        var badAction = await admin.SendAsync(Action($"/dashboard/actions/deployments/{deploymentId}/explode"));
        Assert.Equal(HttpStatusCode.NotFound, badAction.StatusCode);

        try
        {
            var scaled = await admin.SendAsync(Action(scale, new { replicas = 2 }));
            Assert.Equal(HttpStatusCode.OK, scaled.StatusCode);
            Assert.Equal($"{deploymentId} scaled to 2 replicas.", (await scaled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
            var after = await (await api.GetAsync("/api/v1/models/demo-mlp/status")).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(2, after.GetProperty("replicas").GetProperty("desired").GetInt32());
        }
        finally
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(Action(scale, new { replicas = 1 }))).StatusCode);
        }
    }

    [Fact]
    public async Task TheLiveStream_SendsEveryPanel_ThenAPanelAgainWhenItChanges()
    {
        var api = factory.CreateClient();
        var status = await factory.WaitUntilRunningAsync(api, "demo-mlp");
        var deploymentId = status.GetProperty("deployment_id").GetString()!;
        using var admin = Browser();
        await LogInAsync(admin, SampleServerFactory.AdminKey);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await admin.GetAsync("/dashboard/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var stream = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        async Task<(string Panel, string Html)> NextPanelAsync()
        {
            string? type = null;
            while (await stream.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal) && type == "panel")
                {
                    var data = JsonDocument.Parse(line[6..]).RootElement;
                    return (data.GetProperty("panel").GetString()!, data.GetProperty("html").GetString()!);
                }
            }

            throw new EndOfStreamException("the stream ended");
        }

        var seen = new Dictionary<string, string>();
        while (seen.Count < 7)
        {
            var (panel, html) = await NextPanelAsync();
            seen[panel] = html;
        }

        Assert.Equal(["cache", "deployments", "downloads", "models", "queues", "system", "throughput"], seen.Keys.Order());
        Assert.Contains($"data-deployment=\"{deploymentId}\"", seen["deployments"], StringComparison.Ordinal);

        // Scaled through the API: the next deployments event shows two replicas wanted.
        await api.PostAsync($"/api/v1/models/demo-mlp/scale", new StringContent("""{"replicas": 2}""", System.Text.Encoding.UTF8, "application/json"));
        while (true)
        {
            var (panel, html) = await NextPanelAsync();
            if (panel == "deployments" && html.Contains("/2\"", StringComparison.Ordinal)) break;
        }

        await api.PostAsync($"/api/v1/models/demo-mlp/scale", new StringContent("""{"replicas": 1}""", System.Text.Encoding.UTF8, "application/json"));

        // Only panels that changed are sent: the models did not change, so no models event comes in the next 2.5 s.
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        quiet.CancelAfter(TimeSpan.FromSeconds(2.5));
        string? type = null;
        try
        {
            while (await stream.ReadLineAsync(quiet.Token) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal) && type == "panel")
                {
                    Assert.NotEqual("models", JsonDocument.Parse(line[6..]).RootElement.GetProperty("panel").GetString());
                }
            }
        }
        catch (OperationCanceledException) when (quiet.IsCancellationRequested && !timeout.IsCancellationRequested)
        {
        }
    }

    [Fact]
    public async Task TheScriptAndStyleSheet_AreServedFromTheAssembly_AndNothingElseIs()
    {
        using var browser = Browser();
        var script = await browser.GetAsync("/dashboard/assets/dashboard.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Contains("EventSource", await script.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/dashboard/assets/dashboard.css")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync("/dashboard/assets/appsettings.json")).StatusCode);
    }

    [Fact]
    public async Task TheQueuesPanel_ShowsAModelServedOnDemand_UnderItsModelId_WithItsBatchSizes()
    {
        var api = factory.CreateClient();
        await api.PostAsync("/api/v1/models", JsonContent.Create(new { model_id = "undeployed-mlp", name = "Undeployed MLP", framework = "onnx" }));
        using (var form = new MultipartFormDataContent())
        {
            var file = new ByteArrayContent(ModelKit.ModelGenerator.DemoModels.CreateMlp(new ModelKit.ModelGenerator.MlpSpec { Seed = 61 }));
            file.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            form.Add(file, "file", "model.onnx");
            Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/api/v1/models/undeployed-mlp/upload", form)).StatusCode);
        }

        var body = System.Text.Json.JsonSerializer.Serialize(new { inputs = new[] { new { name = "x", shape = new[] { 1, 64 }, datatype = "FP32", data = Enumerable.Repeat(0.25, 64) } } });
        for (var i = 0; i < 5; i++)
        {
            var answer = await api.PostAsync("/v2/models/undeployed-mlp/infer", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        using var admin = Browser();
        await LogInAsync(admin, SampleServerFactory.AdminKey);
        // The page shows what was read at most half a refresh ago: asked again until the row is there (or 5 s pass).
        string html;
        int start;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            html = await admin.GetStringAsync("/dashboard/");
            start = html.IndexOf("data-queue=\"undeployed-mlp\"", StringComparison.Ordinal);
            if (start >= 0) break;
            Assert.True(DateTime.UtcNow < deadline, "the queues panel has no row for the model served on demand");
            await Task.Delay(200);
        }

        var rowHtml = html[start..html.IndexOf("</tr>", start, StringComparison.Ordinal)];
        Assert.Contains("data-batch-sizes=\"5,", rowHtml, StringComparison.Ordinal); // five batches of one, within the history
    }

    [Fact]
    public async Task AKeyWithoutRead_IsRefusedWithoutCountingAsAGuess_TheStreamNeedsASession_AFormFromAnotherOriginIsRefused_AndABurstOfGuessesGetsOnlyTheFailuresLeft()
    {
        // A server of its own (its own data directory) with a third key, with the infer scope only, and 3 failed sign-ins a minute.
        using var server = new InferOnlyKeyServer();
        using var browser = server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        browser.DefaultRequestHeaders.Remove("X-API-Key");

        var inferOnly = await LogInAsync(browser, "modelkit-test-infer-only-key");
        Assert.Equal(HttpStatusCode.Forbidden, inferOnly.StatusCode);
        Assert.Contains("does not have the read scope", await inferOnly.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(inferOnly.Headers.Contains("Set-Cookie"));

        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/dashboard/events")).StatusCode);

        var foreign = new HttpRequestMessage(HttpMethod.Post, "/dashboard/login") { Content = new FormUrlEncodedContent([new("key", SampleServerFactory.ReadOnlyKey)]) };
        foreign.Headers.Add("Origin", "https://elsewhere.example");
        var refused = await browser.SendAsync(foreign);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Set-Cookie"));

        // Twelve wrong keys at once from one address: the three failures it has are answered, the other nine are refused
        // without saying whether their key was right. None of the refusals above counted.
        var burst = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => LogInAsync(browser, "guess-" + i)));
        Assert.Equal(3, burst.Count(response => response.StatusCode == HttpStatusCode.Unauthorized));
        Assert.Equal(9, burst.Count(response => response.StatusCode == HttpStatusCode.TooManyRequests));
        var throttled = burst.First(response => response.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Contains("Too many failed sign-ins from this address", await throttled.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(60), throttled.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await LogInAsync(browser, SampleServerFactory.ReadOnlyKey)).StatusCode);
    }

    [Fact]
    public async Task StopStartAndRestart_ThroughTheDashboard_ChangeTheDeployment()
    {
        var api = factory.CreateClient();
        var deploymentId = (await factory.WaitUntilRunningAsync(api, "demo-bert")).GetProperty("deployment_id").GetString()!;
        using var admin = Browser();
        await LogInAsync(admin, SampleServerFactory.AdminKey);
        async Task<string> StateAsync() => (await (await api.GetAsync("/api/v1/models/demo-bert/status")).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString()!;
        async Task<string> ActAsync(string action)
        {
            var response = await admin.SendAsync(Action($"/dashboard/actions/deployments/{deploymentId}/{action}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString()!;
        }

        try
        {
            Assert.Equal($"{deploymentId} stopped.", await ActAsync("stop"));
            Assert.Equal("stopped", await StateAsync());
            var again = await admin.SendAsync(Action($"/dashboard/actions/deployments/{deploymentId}/stop"));
            Assert.True(again.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, $"a second stop: {(int)again.StatusCode}");
            Assert.Equal($"{deploymentId} is starting.", await ActAsync("start"));
            await factory.WaitUntilRunningAsync(api, "demo-bert");
            Assert.Equal($"{deploymentId} is restarting.", await ActAsync("restart"));
            await factory.WaitUntilRunningAsync(api, "demo-bert");
        }
        finally
        {
            if (await StateAsync() == "stopped") await admin.SendAsync(Action($"/dashboard/actions/deployments/{deploymentId}/start"));
        }
    }

    [Fact]
    public async Task TheThroughputCharts_CountEmbeddingsAndCompletions_UnderTheirModels_AndTheChatModelsDecodingStepsAreItsBatches()
    {
        // A server of its own that serves the sample's text models: the real all-MiniLM-L6-v2 and the generated chat model.
        using var server = new TextModelsServer();
        var api = server.CreateClient();
        await server.WaitUntilRunningAsync(api, TextModelsServer.MiniLm);
        await server.WaitUntilRunningAsync(api, TextModelsServer.ChatModel);

        var embeddings = await api.PostAsJsonAsync("/v1/embeddings", new { model = TextModelsServer.MiniLm, input = new[] { "a dashboard", "of charts" } });
        Assert.Equal(HttpStatusCode.OK, embeddings.StatusCode);
        var chat = await api.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = TextModelsServer.ChatModel,
            messages = new[] { new { role = "user", content = "Four score" } },
            max_tokens = 4,
        });
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);

        using var browser = server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        browser.DefaultRequestHeaders.Remove("X-API-Key");
        await LogInAsync(browser, SampleServerFactory.ReadOnlyKey);
        // Each request lands in the current 5 s slot; a chart's last point shows it (1 request in 5 s: 0.2 req/s) from
        // when that slot closes until the next one does. The two requests may fall in different slots: each model is
        // looked for until it has been seen.
        var unseen = new List<string> { TextModelsServer.MiniLm, TextModelsServer.ChatModel };
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var html = await browser.GetStringAsync("/dashboard/");
            unseen.RemoveAll(m => System.Text.RegularExpressions.Regex.IsMatch(
                html, $"data-chart=\"{System.Text.RegularExpressions.Regex.Escape(m)}\" data-requests-per-second=\"0\\.[0-9]*[1-9]"));
            if (unseen.Count == 0) break;
            Assert.True(DateTime.UtcNow < deadline, "the throughput panel shows no requests for " + string.Join(", ", unseen));
            await Task.Delay(200);
        }

        // The completion's decoding steps ran one sequence each: the batch-size histogram's first bucket (batches of one).
        var page = await browser.GetStringAsync("/dashboard/");
        var row = page.IndexOf($"data-queue=\"{TextModelsServer.ChatModel}\"", StringComparison.Ordinal);
        Assert.True(row >= 0, "the queues panel has no row for the chat model");
        Assert.Matches("data-batch-sizes=\"[1-9][0-9]*,0,", page[row..page.IndexOf("</tr>", row, StringComparison.Ordinal)]);
    }

    private sealed class TextModelsServer : SampleServerFactory
    {
        public const string MiniLm = "all-MiniLM-L6-v2";
        public const string ChatModel = "gpt2-gettysburg";

        protected override bool ServeMiniLm => true;

        protected override bool ServeChatModel => true;
    }

    private sealed class InferOnlyKeyServer : SampleServerFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:Auth:Keys:2:Name", "infer-only");
            builder.UseSetting("ModelKit:Auth:Keys:2:Key", "modelkit-test-infer-only-key");
            builder.UseSetting("ModelKit:Auth:Keys:2:Scopes:0", "infer");
            builder.UseSetting("ModelKit:Auth:FailedAttemptsPerMinute", "3");
        }
    }
}
