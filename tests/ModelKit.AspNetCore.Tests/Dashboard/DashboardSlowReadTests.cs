using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Registry;

namespace ModelKit.Tests.Dashboard;

/// <summary>
/// The dashboard while reading the server's state hangs or fails (the registry's list does not answer, or throws): pages
/// and streams keep answering from the snapshot before, the registry is not asked more often, and the new state shows
/// once a read works again.
/// </summary>
public sealed class DashboardSlowReadTests
{
    [Fact]
    public async Task AHangingRegistry_HoldsNoPage_TheStreamKeepsTheSnapshotBefore_AndShowsTheNewStateOnceItAnswers()
    {
        using var server = new HeldRegistryServer();
        using var browser = await SignedInAsync(server);

        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Registry.Hold = held.Task;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1)); // the snapshot is older than half the refresh interval: the next request reads again, and hangs there

            // The page answers from the snapshot before (before, every page waited for the read to end).
            using (var answered = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            {
                var page = await browser.GetAsync("/dashboard", answered.Token);
                Assert.Equal(HttpStatusCode.OK, page.StatusCode);
                Assert.Contains("demo-mlp", await page.Content.ReadAsStringAsync(answered.Token), StringComparison.Ordinal);
            }

            // The read the page started is held in the registry (it runs in the background: it may get there after the page answered).
            for (var waited = 0; server.Registry.HeldLists == 0; waited++)
            {
                Assert.True(waited < 100, "no read of the registry was held within 10 s");
                await Task.Delay(100);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var response = await browser.GetAsync("/dashboard/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            using var stream = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
            // The stream is read into a channel: giving up on a read of the test server's response would end the stream.
            var panels = System.Threading.Channels.Channel.CreateUnbounded<(string Panel, string Html)>();
            _ = ReadPanelsAsync(stream, panels.Writer, timeout.Token); // ends with the response
            var seen = new HashSet<string>();
            while (seen.Count < 7) seen.Add((await panels.Reader.ReadAsync(timeout.Token)).Panel);

            // demo-bert stopped while the read hangs: the stream has nothing newer to show, so no deployments panel with
            // it stopped comes in the next 2 s.
            var stop = new HttpRequestMessage(HttpMethod.Post, "/dashboard/actions/deployments/demo-bert/stop") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
            stop.Headers.Add("X-ModelKit-Dashboard", "1");
            Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(stop, timeout.Token)).StatusCode);
            const string Stopped = "data-deployment=\"demo-bert\" data-state=\"stopped\"";
            using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token))
            {
                quiet.CancelAfter(TimeSpan.FromSeconds(2));
                try
                {
                    while (true)
                    {
                        var (panel, html) = await panels.Reader.ReadAsync(quiet.Token);
                        Assert.False(panel == "deployments" && html.Contains(Stopped, StringComparison.Ordinal), "a snapshot was read while the registry hung");
                    }
                }
                catch (OperationCanceledException) when (quiet.IsCancellationRequested && !timeout.IsCancellationRequested)
                {
                }
            }

            // The registry answers: the next refresh shows demo-bert stopped.
            held.SetResult();
            var after = new List<string>();
            try
            {
                while (true)
                {
                    var (panel, html) = await panels.Reader.ReadAsync(timeout.Token);
                    after.Add(panel == "deployments" ? html : panel);
                    if (panel == "deployments" && html.Contains(Stopped, StringComparison.Ordinal)) break;
                }
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("no deployments panel with demo-bert stopped after the registry answered; panels sent: " + string.Join(" | ", after));
            }
        }
        finally
        {
            held.TrySetResult();
        }
    }

    [Fact]
    public async Task ARegistryThatFails_IsReadAtMostOncePerHalfRefresh_HoweverManyPagesAreOpen_AndThePagesStayUp()
    {
        using var server = new HeldRegistryServer();
        using var browser = await SignedInAsync(server);

        // Eight open pages, and a registry that fails at once: each page's refresh (every second) would read it again,
        // but a failed read is not retried within half the refresh interval (500 ms here).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var streams = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 8; i++) streams.Add(await browser.GetAsync("/dashboard/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token));
            server.Registry.Fail = true;
            var before = server.Registry.Lists;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(4), timeout.Token);
            var reads = server.Registry.Lists - before;
            var most = (int)(watch.Elapsed.TotalSeconds / 0.5) + 1;
            Assert.True(reads >= 2, $"the failing registry was read {reads} times in {watch.Elapsed.TotalSeconds:F1} s: the pages stopped asking");
            Assert.True(reads <= most, $"the failing registry was read {reads} times in {watch.Elapsed.TotalSeconds:F1} s by eight pages (at most {most} expected)");

            // The pages answer from the snapshot before.
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/dashboard", timeout.Token)).StatusCode);
        }
        finally
        {
            server.Registry.Fail = false;
            foreach (var stream in streams) stream.Dispose();
        }
    }

    // The demo deployment running, and a browser signed in with the manage key that has loaded the page once (the first snapshot).
    private static async Task<HttpClient> SignedInAsync(HeldRegistryServer server)
    {
        await server.WaitUntilRunningAsync(server.CreateClient(), "demo-mlp");
        var browser = server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        browser.DefaultRequestHeaders.Remove("X-API-Key");
        await browser.PostAsync("/dashboard/login", new FormUrlEncodedContent([new("key", SampleServerFactory.AdminKey)]));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/dashboard")).StatusCode);
        return browser;
    }

    private static async Task ReadPanelsAsync(StreamReader stream, System.Threading.Channels.ChannelWriter<(string Panel, string Html)> panels, CancellationToken cancellationToken)
    {
        string? type = null;
        try
        {
            while (await stream.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal) && type == "panel")
                {
                    var data = JsonDocument.Parse(line[6..]).RootElement;
                    await panels.WriteAsync((data.GetProperty("panel").GetString()!, data.GetProperty("html").GetString()!), cancellationToken);
                }
            }

            panels.Complete(new EndOfStreamException("the stream ended"));
        }
        catch (Exception ex)
        {
            panels.Complete(ex);
        }
    }

    // The sample server with a registry whose list can be held until a task ends, or made to fail.
    private sealed class HeldRegistryServer : SampleServerFactory
    {
        public HeldRegistry Registry { get; private set; } = null!;

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(services => services.AddSingleton<IModelRegistry>(sp => Registry = new HeldRegistry(sp.GetRequiredService<ModelRegistry>())));
        }
    }

    private sealed class HeldRegistry(IModelRegistry inner) : IModelRegistry
    {
        private int _heldLists;
        private int _lists;

        public Task? Hold { get; set; }

        /// <summary>When set, listing fails at once with an error that is not the registry's own.</summary>
        public bool Fail { get; set; }

        public int HeldLists => Volatile.Read(ref _heldLists);

        public int Lists => Volatile.Read(ref _lists);

        public async Task<ModelPage> ListModelsAsync(ModelQuery query, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _lists);
            if (Fail) throw new InvalidOperationException("The test's registry fails.");
            if (Hold is { IsCompleted: false } hold)
            {
                Interlocked.Increment(ref _heldLists);
                await hold.WaitAsync(cancellationToken);
            }

            return await inner.ListModelsAsync(query, cancellationToken);
        }

        public event EventHandler<ModelRegistryChange>? Changed
        {
            add => inner.Changed += value;
            remove => inner.Changed -= value;
        }

        public Task<ModelInfo> CreateModelAsync(ModelDefinition definition, CancellationToken cancellationToken = default) => inner.CreateModelAsync(definition, cancellationToken);

        public Task<ModelVersionInfo> AddVersionAsync(string modelId, string? version, Stream content, string fileName, CancellationToken cancellationToken = default) =>
            inner.AddVersionAsync(modelId, version, content, fileName, cancellationToken);

        public Task<ModelVersionInfo> AddVersionAsync(string modelId, string? version, IReadOnlyList<ArtifactSource> files, string? primaryFile = null, CancellationToken cancellationToken = default) =>
            inner.AddVersionAsync(modelId, version, files, primaryFile, cancellationToken);

        public Task<ModelInfo> RegisterAsync(ModelDefinition definition, Stream content, string fileName, string? version = null, CancellationToken cancellationToken = default) =>
            inner.RegisterAsync(definition, content, fileName, version, cancellationToken);

        public Task<ModelInfo> RegisterAsync(ModelDefinition definition, IReadOnlyList<ArtifactSource> files, string? primaryFile = null, string? version = null, CancellationToken cancellationToken = default) =>
            inner.RegisterAsync(definition, files, primaryFile, version, cancellationToken);

        public Task<ModelInfo> GetModelAsync(string modelId, CancellationToken cancellationToken = default) => inner.GetModelAsync(modelId, cancellationToken);

        public Task<ModelInfo?> FindModelAsync(string modelId, CancellationToken cancellationToken = default) => inner.FindModelAsync(modelId, cancellationToken);

        public Task<ModelInfo> UpdateModelAsync(string modelId, ModelUpdate update, CancellationToken cancellationToken = default) => inner.UpdateModelAsync(modelId, update, cancellationToken);

        public Task DeleteModelAsync(string modelId, bool force = false, CancellationToken cancellationToken = default) => inner.DeleteModelAsync(modelId, force, cancellationToken);

        public Task DeleteVersionAsync(string modelId, string version, bool force = false, CancellationToken cancellationToken = default) =>
            inner.DeleteVersionAsync(modelId, version, force, cancellationToken);

        public Task VerifyArtifactsAsync(ModelVersionInfo version, CancellationToken cancellationToken = default) => inner.VerifyArtifactsAsync(version, cancellationToken);
    }
}
