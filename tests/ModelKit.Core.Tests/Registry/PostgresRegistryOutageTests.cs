using Microsoft.Extensions.DependencyInjection;
using ModelKit.Backends;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Serving;
using ModelKit.Tensors;

namespace ModelKit.Tests.Registry;

// The registry's database going away under a running host (the server stops, and starts again on the same port): what
// is loaded keeps serving, what needs the registry fails with REGISTRY_UNAVAILABLE, and the same calls work once it is back.
public sealed class PostgresRegistryOutageTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private static readonly Dictionary<string, Tensor> X = new() { ["x"] = Tensor.Create(new float[] { 1, 2 }, 1, 2) };

    private static MemoryStream Content(string text) => new(System.Text.Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task DatabaseDown_ModelServedOnDemandKeepsServing_OthersFailWithRegistryUnavailable_UntilItIsBack()
    {
        using var dir = new TempDirectory();
        string connectionString;
        await using (var source = await server.CreateDatabaseAsync()) connectionString = source.ConnectionString;
        var services = new ServiceCollection().AddLogging().AddSingleton<IInferenceBackend>(new FakeBackend());
        services.AddModelKit(o => o.DataDirectory = dir.Path).AddPostgreSqlRegistry(connectionString);
        await using var provider = services.BuildServiceProvider();
        var registry = provider.GetRequiredService<IModelRegistry>();
        var inference = provider.GetRequiredService<IInferenceService>();
        await registry.RegisterAsync(new ModelDefinition { Id = "served", Name = "Served" }, Content("model"), "m.onnx");
        await registry.RegisterAsync(new ModelDefinition { Id = "cold", Name = "Cold" }, Content("triple: model"), "m.onnx");
        Assert.Equal(new[] { 2f, 4f }, (await inference.InferAsync(new InferenceRequest { ModelId = "served", Inputs = X })).Outputs["y"].ToArray<float>());

        await server.StopAsync();
        try
        {
            // Past the route's interval the router asks the registry again, which cannot answer: the loaded model serves on.
            await Task.Delay(ModelRouter.ResolveInterval + TimeSpan.FromMilliseconds(200));
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(new[] { 2f, 4f }, (await inference.InferAsync(new InferenceRequest { ModelId = "served", Inputs = X })).Outputs["y"].ToArray<float>());
            }

            var cold = await Assert.ThrowsAsync<RegistryUnavailableException>(() => inference.InferAsync(new InferenceRequest { ModelId = "cold", Inputs = X }));
            Assert.Equal(ModelKitErrorCodes.RegistryUnavailable, cold.ErrorCode);
            Assert.DoesNotContain("127.0.0.1", cold.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<RegistryUnavailableException>(() => registry.CreateModelAsync(new ModelDefinition { Id = "later", Name = "Later" }));
            await Assert.ThrowsAsync<RegistryUnavailableException>(() => registry.DeleteModelAsync("served"));
        }
        finally
        {
            await server.StartAsync();
        }

        Assert.Equal(new[] { 3f, 6f }, (await inference.InferAsync(new InferenceRequest { ModelId = "cold", Inputs = X })).Outputs["y"].ToArray<float>());
        Assert.Equal("later", (await registry.CreateModelAsync(new ModelDefinition { Id = "later", Name = "Later" })).Id);
        Assert.Equal(["cold", "later", "served"], (await registry.ListModelsAsync(new ModelQuery())).Items.Select(m => m.Id).Order());
    }
}
