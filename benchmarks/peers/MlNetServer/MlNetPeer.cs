using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace ModelKit.Peers;

/// <summary>
/// What a .NET developer writes with ML.NET to serve one ONNX model: an <c>ApplyOnnxModel</c> transformer, prediction
/// engines taken from a pool per request (the pattern Microsoft.Extensions.ML's PredictionEnginePool implements; that
/// package is not on this feed, so the pool is an <see cref="ObjectPool{T}"/>), one <c>Predict</c> per row of the request,
/// answering seed 000's <c>POST /api/v1/models/{model_id}/inference</c> for a model with one float input vector, and the
/// Open Inference Protocol's gRPC <c>ModelInfer</c> (<see cref="MlNetGrpcService"/>) on an HTTP/2 endpoint when the
/// arguments configure one (<c>--Kestrel:Endpoints:Grpc:Url=… --Kestrel:Endpoints:Grpc:Protocols=Http2</c>).
/// </summary>
public static class MlNetPeer
{
    /// <summary>The app serving <paramref name="modelPath"/> as <paramref name="modelId"/>.</summary>
    public static WebApplication Build(string modelPath, string modelId, string[]? args = null)
    {
        // The model's names and sizes, as the developer would read them off the model (Netron, or ONNX Runtime here).
        string inputName, outputName;
        int inputSize, outputSize;
        using (var session = new InferenceSession(modelPath))
        {
            (inputName, var input) = session.InputMetadata.First();
            (outputName, var output) = session.OutputMetadata.First();
            (inputSize, outputSize) = (input.Dimensions[^1], output.Dimensions[^1]);
        }

        var ml = new MLContext();
        var inputSchema = SchemaDefinition.Create(typeof(Row));
        var features = inputSchema.Single(c => c.MemberName == nameof(Row.Features));
        features.ColumnName = inputName;
        features.ColumnType = new VectorDataViewType(NumberDataViewType.Single, inputSize);
        var outputSchema = SchemaDefinition.Create(typeof(Prediction));
        var scores = outputSchema.Single(c => c.MemberName == nameof(Prediction.Scores));
        scores.ColumnName = outputName;
        scores.ColumnType = new VectorDataViewType(NumberDataViewType.Single, outputSize);
        var empty = ml.Data.LoadFromEnumerable(new List<Row>(), inputSchema);
        var transformer = ml.Transforms.ApplyOnnxModel([outputName], [inputName], modelPath).Fit(empty);
        var engines = new DefaultObjectPool<PredictionEngine<Row, Prediction>>(
            new EnginePolicy(() => ml.Model.CreatePredictionEngine<Row, Prediction>(transformer, ignoreMissingColumns: false, inputSchema, outputSchema)),
            Environment.ProcessorCount * 2);

        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(new MlNetModel(modelId, engines, inputSize, outputSize, outputName));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.Lifetime.ApplicationStopped.Register(() => (transformer as IDisposable)?.Dispose());
        app.MapGrpcService<MlNetGrpcService>();
        app.MapPost("/api/v1/models/{model_id}/inference", async (string model_id, HttpRequest request) =>
        {
            if (model_id != modelId) return Results.NotFound(new { error = $"model '{model_id}' is not served here" });
            var clock = Stopwatch.StartNew();
            var body = await JsonSerializer.DeserializeAsync<InferenceBody>(request.Body);
            var rows = body?.InputData ?? [];
            var data = new float[rows.Length * outputSize];
            var engine = engines.Get();
            try
            {
                for (var i = 0; i < rows.Length; i++)
                {
                    engine.Predict(new Row { Features = rows[i] }).Scores.CopyTo(data, i * outputSize);
                }
            }
            finally
            {
                engines.Return(engine);
            }

            return Results.Json(new
            {
                request_id = Guid.NewGuid().ToString("N"),
                model_id = modelId,
                output_data = new Dictionary<string, object> { [outputName] = new { shape = new[] { rows.Length, outputSize }, datatype = "FP32", data } },
                processing_time = clock.Elapsed.TotalSeconds,
                timestamp = DateTimeOffset.UtcNow,
            });
        });
        return app;
    }

    private sealed class EnginePolicy(Func<PredictionEngine<Row, Prediction>> create) : IPooledObjectPolicy<PredictionEngine<Row, Prediction>>
    {
        public PredictionEngine<Row, Prediction> Create() => create();

        public bool Return(PredictionEngine<Row, Prediction> obj) => true;
    }

    private sealed class InferenceBody
    {
        [System.Text.Json.Serialization.JsonPropertyName("input_data")]
        public float[][]? InputData { get; set; }
    }

    /// <summary>One row in (the schema definition names it and sizes it after the model).</summary>
    public sealed class Row
    {
        public float[] Features { get; set; } = [];
    }

    /// <summary>The model's output for one row.</summary>
    public sealed class Prediction
    {
        public float[] Scores { get; set; } = [];
    }
}
