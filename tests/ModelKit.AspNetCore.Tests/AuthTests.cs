using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Options;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>API keys, scopes and rate limits through HTTP.</summary>
public sealed class AuthTests : IClassFixture<SampleServerFactory>
{
    private static readonly string Row = JsonSerializer.Serialize(new[] { new float[64] });
    private readonly SampleServerFactory _factory;

    public AuthTests(SampleServerFactory factory) => _factory = factory;

    private HttpClient Client(string? key = null, bool bearer = false)
    {
        var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Remove("X-API-Key");
        if (key is null) return client;
        if (bearer) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        else client.DefaultRequestHeaders.Add("X-API-Key", key);
        return client;
    }

    [Fact]
    public async Task MissingOrWrongKey_Is401_AndHealthStaysOpen()
    {
        var anonymous = Client();
        var missing = await anonymous.GetAsync("/api/v1/models");
        await ExpectAsync(missing, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        await ExpectAsync(await Client("not-the-key-at-all").GetAsync("/api/v1/models"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        var wrong = await ExpectAsync(await Client(SampleServerFactory.AdminKey + "x").GetAsync("/api/v1/models"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains("not valid", wrong.GetRawText(), StringComparison.Ordinal); // told apart from a missing key
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client(SampleServerFactory.AdminKey, bearer: true).GetAsync("/api/v1/models")).StatusCode);
    }

    [Fact]
    public async Task ReadOnlyKey_CanReadButNotInferOrManage()
    {
        var reader = Client(SampleServerFactory.ReadOnlyKey);
        await _factory.WaitUntilRunningAsync(_factory.CreateClient(), "demo-mlp");
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/v1/models/demo-mlp/status")).StatusCode);
        await ExpectAsync(await reader.PostAsync("/api/v1/models/demo-mlp/inference", Json($$"""{"input_data": {{Row}}}""")), HttpStatusCode.Forbidden, "FORBIDDEN");
        await ExpectAsync(await reader.PostAsync("/api/v1/models/demo-mlp/scale", Json("""{"replicas": 2}""")), HttpStatusCode.Forbidden, "FORBIDDEN");
        await ExpectAsync(await reader.DeleteAsync("/api/v1/models/demo-mlp?force=true"), HttpStatusCode.Forbidden, "FORBIDDEN");
        Assert.Equal(HttpStatusCode.OK, (await Client(SampleServerFactory.AdminKey).PostAsync("/api/v1/models/demo-mlp/inference", Json($$"""{"input_data": {{Row}}}"""))).StatusCode);
    }

    [Fact]
    public async Task InferOnlyKey_ReadsTheJobItSubmitted_ButNotTheRegistry()
    {
        await using var factory = new InferOnlyKeyFactory();
        await factory.WaitUntilRunningAsync(factory.CreateClient(), "demo-mlp");
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Remove("X-API-Key");
        client.DefaultRequestHeaders.Add("X-API-Key", InferOnlyKeyFactory.Key);
        var job = await ExpectAsync(await client.PostAsync("/inference/async", Json($$"""{"model_id": "demo-mlp", "input_data": {{Row}}}""")), HttpStatusCode.Accepted);
        var read = await client.GetAsync(job.GetProperty("status_url").GetString());
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        await ExpectAsync(await client.GetAsync("/api/v1/models"), HttpStatusCode.Forbidden, "FORBIDDEN");
    }

    [Fact]
    public async Task RootPage_PrintsNoKey()
    {
        var text = await Client().GetStringAsync("/");
        Assert.DoesNotContain(SampleServerFactory.AdminKey, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailedAuthentication_IsThrottledPerAddress_WhateverKeyComesNext()
    {
        await using var factory = new FewFailuresFactory();
        HttpClient WithKey(string key)
        {
            var client = factory.CreateClient();
            client.DefaultRequestHeaders.Remove("X-API-Key");
            client.DefaultRequestHeaders.Add("X-API-Key", key);
            return client;
        }

        for (var i = 0; i < 3; i++) await ExpectAsync(await WithKey("guess-" + i).GetAsync("/api/v1/models"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        var throttled = await WithKey("guess-3").GetAsync("/api/v1/models");
        await ExpectAsync(throttled, HttpStatusCode.TooManyRequests, "RATE_LIMITED");
        Assert.True(throttled.Headers.RetryAfter is not null);
        // The right key from the same address does not get through while the address is blocked (no oracle for guessing).
        await ExpectAsync(await WithKey(SampleServerFactory.AdminKey).GetAsync("/api/v1/models"), HttpStatusCode.TooManyRequests, "RATE_LIMITED");
    }

    [Fact]
    public async Task ABurstOfParallelWrongKeys_GetsOnlyTheAddressesFailuresAnswered()
    {
        await using var factory = new FewFailuresFactory();
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Remove("X-API-Key");
        var burst = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/models");
            request.Headers.Add("X-API-Key", "parallel-guess-" + i);
            return client.SendAsync(request);
        }));

        // Three failures a minute: three guesses learn their key is wrong, thirteen are refused without an answer.
        Assert.Equal(3, burst.Count(response => response.StatusCode == HttpStatusCode.Unauthorized));
        Assert.Equal(13, burst.Count(response => response.StatusCode == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task ApiKeys_RotatedInTheConfiguration_TakeEffectWithoutARestart()
    {
        await using var factory = new RotatingKeysFactory();
        HttpClient WithKey(string key)
        {
            var client = factory.CreateClient();
            client.DefaultRequestHeaders.Remove("X-API-Key");
            client.DefaultRequestHeaders.Add("X-API-Key", key);
            return client;
        }

        Assert.Equal(HttpStatusCode.OK, (await WithKey("rotating-old-key-0001").GetAsync("/api/v1/models")).StatusCode);
        await ExpectAsync(await WithKey("rotating-new-key-0002").GetAsync("/api/v1/models"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");

        factory.Keys.Set("ModelKit:Auth:Keys:2:Key", "rotating-new-key-0002"); // as an edited appsettings.json reloads

        Assert.Equal(HttpStatusCode.OK, (await WithKey("rotating-new-key-0002").GetAsync("/api/v1/models")).StatusCode);
        await ExpectAsync(await WithKey("rotating-old-key-0001").GetAsync("/api/v1/models"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");

        // A rotation to an invalid key (too short) neither throws on the reload nor lets that key in; the others serve on.
        var bad = Record.Exception(() => factory.Keys.Set("ModelKit:Auth:Keys:2:Key", "short-key"));
        Assert.Null(bad);
        await ExpectAsync(await WithKey("short-key").GetAsync("/api/v1/models"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal(HttpStatusCode.OK, (await factory.CreateClient().GetAsync("/api/v1/models")).StatusCode);
    }

    [Fact]
    public async Task RateLimits_ChangedInTheConfiguration_TakeEffectWithoutARestart()
    {
        await using var factory = new RotatingKeysFactory();
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Remove("X-API-Key");
        client.DefaultRequestHeaders.Add("X-API-Key", "rotating-old-key-0001");
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2")).StatusCode);

        factory.Keys.Set("ModelKit:Auth:Keys:2:RequestsPerMinute", "2");
        for (var i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2")).StatusCode);
        var limited = await client.GetAsync("/v2");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter);

        factory.Keys.Set("ModelKit:Auth:Keys:2:RequestsPerMinute", "100");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2")).StatusCode);
    }

    private sealed class RotatingKeysFactory : SampleServerFactory
    {
        public ReloadingSource Keys { get; } = new();

        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:DeployDemoModels", "false");
            builder.ConfigureAppConfiguration(configuration => configuration.Add(Keys));
        }
    }

    // An in-memory configuration source that can change and signal a reload, as a watched file does.
    internal sealed class ReloadingSource : Microsoft.Extensions.Configuration.IConfigurationSource
    {
        private readonly Provider _provider = new();

        public ReloadingSource()
        {
            _provider.Set("ModelKit:Auth:Keys:2:Name", "rotating", reload: false);
            _provider.Set("ModelKit:Auth:Keys:2:Key", "rotating-old-key-0001", reload: false);
            _provider.Set("ModelKit:Auth:Keys:2:Scopes:0", "read", reload: false);
        }

        public void Set(string key, string value) => _provider.Set(key, value, reload: true);

        public Microsoft.Extensions.Configuration.IConfigurationProvider Build(Microsoft.Extensions.Configuration.IConfigurationBuilder builder) => _provider;

        private sealed class Provider : Microsoft.Extensions.Configuration.ConfigurationProvider
        {
            public void Set(string key, string value, bool reload)
            {
                Data[key] = value;
                if (reload) OnReload();
            }
        }
    }

    private sealed class FewFailuresFactory : SampleServerFactory
    {
        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:Auth:FailedAttemptsPerMinute", "3");
            builder.UseSetting("ModelKit:DeployDemoModels", "false");
        }
    }

    private sealed class InferOnlyKeyFactory : SampleServerFactory
    {
        public const string Key = "test-infer-only-key";

        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:Auth:Keys:2:Name", "infer-only");
            builder.UseSetting("ModelKit:Auth:Keys:2:Key", Key);
            builder.UseSetting("ModelKit:Auth:Keys:2:Scopes:0", "infer");
        }
    }

    [Fact]
    public async Task RateLimit_PerKey_Answers429WithRetryAfter()
    {
        await using var factory = new LimitedFactory();
        var client = factory.CreateClient();
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/models")).StatusCode);
        var limited = await client.GetAsync("/api/v1/models");
        var problem = await ExpectAsync(limited, HttpStatusCode.TooManyRequests, "RATE_LIMITED");
        Assert.NotNull(limited.Headers.RetryAfter);
        Assert.Equal((int)limited.Headers.RetryAfter!.Delta!.Value.TotalSeconds, problem.GetProperty("retry_after").GetInt32());
        Assert.True(problem.TryGetProperty("timestamp", out _));

        // The same budget covers /v2, answered in that protocol's error shape.
        var oip = await client.GetAsync("/v2/models/demo-mlp");
        Assert.Equal(HttpStatusCode.TooManyRequests, oip.StatusCode);
        Assert.NotNull(oip.Headers.RetryAfter);
        var error = JsonDocument.Parse(await oip.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("RATE_LIMITED", error.GetProperty("code").GetString());
        Assert.Contains("Too many requests", error.GetProperty("error").GetString(), StringComparison.Ordinal);

        // Another key has its own budget.
        var other = factory.CreateClient();
        other.DefaultRequestHeaders.Remove("X-API-Key");
        other.DefaultRequestHeaders.Add("X-API-Key", SampleServerFactory.ReadOnlyKey);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/api/v1/models")).StatusCode);
    }

    [Fact]
    public async Task AuthOff_MustBeExplicit()
    {
        await using (var open = new ConfiguredFactory(("ModelKit:Auth:Enabled", "false")))
        {
            var client = open.CreateClient();
            client.DefaultRequestHeaders.Remove("X-API-Key");
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/models")).StatusCode);
        }

        await using var noKeys = new ConfiguredFactory(("ModelKit:Auth:Keys:0:Key", ""), ("ModelKit:Auth:Keys:1:Key", ""));
        var error = Assert.ThrowsAny<Exception>(() => noKeys.CreateClient());
        var validation = error as OptionsValidationException ?? error.InnerException as OptionsValidationException;
        Assert.NotNull(validation);
        Assert.Contains(validation.Failures, f => f.Contains("shorter than 16 characters", StringComparison.Ordinal));
    }

    private sealed class LimitedFactory : SampleServerFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:Auth:RequestsPerMinute", "3");
            builder.UseSetting("ModelKit:DeployDemoModels", "false");
        }
    }

    private sealed class ConfiguredFactory(params (string Key, string Value)[] settings) : SampleServerFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:DeployDemoModels", "false");
            foreach (var (key, value) in settings) builder.UseSetting(key, value);
        }
    }
}
