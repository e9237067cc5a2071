using System.Text.Json;
using Microsoft.AspNetCore.Http;
using ModelKit.AspNetCore;
using ModelKit.Inference;
using ModelKit.Tensors;

namespace ModelKit.Tests.DeploymentApi;

/// <summary>
/// Seed 000's inference answer, written straight to the response (DeploymentInferenceAnswer), is the JSON the serializer
/// writes for the same result (DeploymentInferenceResult with ModelKit's options), field for field and byte for byte but
/// for the timestamp's instant.
/// </summary>
public sealed class DeploymentInferenceAnswerTests
{
    [Fact]
    public async Task Answer_IsTheSerializersJson_ForSeveralOutputsAndTypes()
    {
        var result = new InferenceResult
        {
            ModelId = "encoder \"x\"",
            Version = "3",
            Outputs = new Dictionary<string, Tensor>
            {
                ["logits"] = Tensor.Create([0.1f, -2.5f, 3e38f, 1e-7f, 0f, 16777216f], 2, 3),
                ["ids"] = Tensor.Create([long.MinValue, 7L], 1, 2),
                ["été"] = Tensor.Create([(Half)0.5f], 1),
                ["mask"] = Tensor.Create([true, false], 2),
            },
            Duration = TimeSpan.FromTicks(12_345),
        };

        var context = new DefaultHttpContext();
        using var body = new MemoryStream();
        context.Response.Body = body;
        await new DeploymentInferenceAnswer(result, "0HN:00000001").ExecuteAsync(context);
        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", context.Response.ContentType);

        var written = JsonDocument.Parse(body.ToArray()).RootElement;
        var serialized = JsonDocument.Parse(JsonSerializer.Serialize(DeploymentInferenceResult.From(result, "0HN:00000001"), ModelKitJson.Options)).RootElement;
        Assert.Equal(
            [.. serialized.EnumerateObject().Select(p => p.Name)],
            [.. written.EnumerateObject().Select(p => p.Name)]);
        foreach (var property in serialized.EnumerateObject().Where(p => p.Name != "timestamp"))
        {
            Assert.Equal(property.Value.GetRawText(), written.GetProperty(property.Name).GetRawText());
        }

        var timestamp = written.GetProperty("timestamp").GetDateTimeOffset();
        Assert.True(Math.Abs((timestamp - serialized.GetProperty("timestamp").GetDateTimeOffset()).TotalSeconds) < 60);
        Assert.Equal(TimeSpan.Zero, timestamp.Offset);
    }

    [Fact]
    public async Task Answer_WithoutAVersion_LeavesItOut_AsTheSerializerDoes()
    {
        var result = new InferenceResult { ModelId = "m", Version = null!, Outputs = new Dictionary<string, Tensor> { ["y"] = Tensor.Create([1f], 1) } };
        var context = new DefaultHttpContext();
        using var body = new MemoryStream();
        context.Response.Body = body;
        await new DeploymentInferenceAnswer(result, "r").ExecuteAsync(context);
        var written = JsonDocument.Parse(body.ToArray()).RootElement;
        Assert.False(written.TryGetProperty("version", out _));
        Assert.Equal("""{"y":{"shape":[1],"datatype":"FP32","data":[1]}}""", written.GetProperty("output_data").GetRawText());
    }
}
