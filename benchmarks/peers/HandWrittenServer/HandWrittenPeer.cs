using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelKit.Peers;

/// <summary>
/// What a .NET developer writes to serve one ONNX model without a serving library: a minimal API over one shared
/// <see cref="InferenceSession"/>, calling <c>Run</c> once per request (no batching, no queue, no auth), answering seed
/// 000's <c>POST /api/v1/models/{model_id}/inference</c> with the same body ModelKit takes and the same fields it answers.
/// <c>input_data</c> is one float matrix for a single-input model, or an object of named int64/float matrices. The same
/// session also answers the Open Inference Protocol's gRPC <c>ModelInfer</c> (<see cref="HandWrittenGrpcService"/>) on an
/// HTTP/2 endpoint, when the arguments configure one (<c>--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:9112
/// --Kestrel:Endpoints:Grpc:Protocols=Http2</c>, beside <c>--Kestrel:Endpoints:Rest:Url=…</c>).
/// </summary>
public static class HandWrittenPeer
{
    /// <summary>The app serving <paramref name="modelPath"/> as <paramref name="modelId"/>.</summary>
    public static WebApplication Build(string modelPath, string modelId, string[]? args = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.Logging.ClearProviders();
        var session = new InferenceSession(modelPath);
        var inputs = session.InputMetadata;
        var output = session.OutputMetadata.Keys.First();
        builder.Services.AddSingleton(new HandWrittenModel(modelId, session, output));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.Lifetime.ApplicationStopped.Register(session.Dispose);
        app.MapGrpcService<HandWrittenGrpcService>();

        app.MapPost("/api/v1/models/{model_id}/inference", async (string model_id, HttpRequest request) =>
        {
            if (model_id != modelId) return Results.NotFound(new { error = $"model '{model_id}' is not served here" });
            var clock = Stopwatch.StartNew();
            using var body = await JsonDocument.ParseAsync(request.Body);
            var data = body.RootElement.GetProperty("input_data");
            var values = new List<OrtValue>();
            var names = new List<string>();
            try
            {
                if (data.ValueKind == JsonValueKind.Array)
                {
                    var name = inputs.Keys.First();
                    names.Add(name);
                    values.Add(Matrix(data, inputs[name].ElementDataType));
                }
                else
                {
                    foreach (var (name, meta) in inputs)
                    {
                        names.Add(name);
                        values.Add(Matrix(data.GetProperty(name), meta.ElementDataType));
                    }
                }

                using var runOptions = new RunOptions();
                using var results = session.Run(runOptions, names, values, [output]);
                var tensor = results[0];
                var shape = tensor.GetTensorTypeAndShape().Shape;
                var outputData = tensor.GetTensorDataAsSpan<float>().ToArray();
                return Results.Json(new
                {
                    request_id = Guid.NewGuid().ToString("N"),
                    model_id = modelId,
                    output_data = new Dictionary<string, object> { [output] = new { shape, datatype = "FP32", data = outputData } },
                    processing_time = clock.Elapsed.TotalSeconds,
                    timestamp = DateTimeOffset.UtcNow,
                });
            }
            finally
            {
                foreach (var value in values) value.Dispose();
            }
        });
        return app;
    }

    // A rows × columns JSON matrix as a tensor of the input's element type.
    private static OrtValue Matrix(JsonElement rows, TensorElementType type)
    {
        var rowCount = rows.GetArrayLength();
        var columns = rows[0].GetArrayLength();
        long[] shape = [rowCount, columns];
        if (type == TensorElementType.Int64)
        {
            var longs = new long[rowCount * columns];
            var i = 0;
            foreach (var row in rows.EnumerateArray()) foreach (var v in row.EnumerateArray()) longs[i++] = v.GetInt64();
            return OrtValue.CreateTensorValueFromMemory(longs, shape);
        }

        var floats = new float[rowCount * columns];
        var j = 0;
        foreach (var row in rows.EnumerateArray()) foreach (var v in row.EnumerateArray()) floats[j++] = v.GetSingle();
        return OrtValue.CreateTensorValueFromMemory(floats, shape);
    }
}
