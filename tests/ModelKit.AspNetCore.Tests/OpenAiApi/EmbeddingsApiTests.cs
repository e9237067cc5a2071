using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Numerics.Tensors;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Embeddings;
using OpenAI.Models;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.OpenAiApi;

/// <summary>The sample server on a real socket, serving the real all-MiniLM-L6-v2 (as it does out of the box).</summary>
public sealed class MiniLmSampleServer : IAsyncLifetime
{
    public const string Model = "all-MiniLM-L6-v2";

    public KestrelSampleServerFactory Factory { get; } = new(serveMiniLm: true);

    public async Task InitializeAsync() => await Factory.WaitUntilRunningAsync(Factory.CreateClient(), Model);

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

/// <summary>
/// Embeddings through every surface that serves them: OpenAI's <c>/v1/embeddings</c> (with the official OpenAI .NET client
/// and with raw HTTP) and seed 001's <c>POST /models/{model_id}/embeddings</c>, on the real all-MiniLM-L6-v2.
/// </summary>
public sealed class EmbeddingsApiTests(MiniLmSampleServer server) : IClassFixture<MiniLmSampleServer>
{
    private const string Food = "A man is eating food.";
    private const string Bread = "A man is eating a piece of bread.";

    private readonly HttpClient _client = server.Factory.CreateClient();

    private OpenAIClientOptions ClientOptions => new() { Endpoint = new Uri(_client.BaseAddress!, "/v1") };

    [Fact]
    public async Task OfficialOpenAiClient_GetsEmbeddingsAndModels()
    {
        var client = new EmbeddingClient(MiniLmSampleServer.Model, new ApiKeyCredential(SampleServerFactory.AdminKey), ClientOptions);

        // The client asks for base64 vectors by default.
        OpenAIEmbeddingCollection embeddings = await client.GenerateEmbeddingsAsync([Food, Bread]);
        Assert.Equal(2, embeddings.Count);
        var food = embeddings[0].ToFloats().ToArray();
        var bread = embeddings[1].ToFloats().ToArray();
        Assert.Equal(384, food.Length);
        Assert.Equal(0.755, TensorPrimitives.CosineSimilarity(food, bread), 0.005);
        Assert.Equal(MiniLmSampleServer.Model, embeddings.Model);
        Assert.Equal(19, embeddings.Usage.InputTokenCount);

        OpenAIEmbedding shorter = await client.GenerateEmbeddingAsync(Food, new EmbeddingGenerationOptions { Dimensions = 64 });
        Assert.Equal(64, shorter.ToFloats().Length);

        var models = new OpenAIModelClient(new ApiKeyCredential(SampleServerFactory.AdminKey), ClientOptions);
        OpenAIModelCollection list = await models.GetModelsAsync();
        Assert.Contains(list, m => m.Id == MiniLmSampleServer.Model && m.OwnedBy == "modelkit");
        OpenAIModel one = await models.GetModelAsync(MiniLmSampleServer.Model);
        Assert.Equal(MiniLmSampleServer.Model, one.Id);

        // OpenAI's error objects reach the client as its exception, with the status and message.
        var unknown = new EmbeddingClient("no-such-model", new ApiKeyCredential(SampleServerFactory.AdminKey), ClientOptions);
        var error = await Assert.ThrowsAsync<ClientResultException>(() => unknown.GenerateEmbeddingAsync(Food));
        Assert.Equal(404, error.Status);
        Assert.Contains("no-such-model", error.Message, StringComparison.Ordinal);

        var wrongKey = new EmbeddingClient(MiniLmSampleServer.Model, new ApiKeyCredential("wrong-key"), ClientOptions);
        Assert.Equal(401, (await Assert.ThrowsAsync<ClientResultException>(() => wrongKey.GenerateEmbeddingAsync(Food))).Status);
    }

    [Fact]
    public async Task V1Embeddings_FloatAndBase64_AndTokenArrays_AgreeWithEachOther()
    {
        var floats = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json($$"""{"model": "{{MiniLmSampleServer.Model}}", "input": "{{Food}}"}""")), HttpStatusCode.OK);
        Assert.Equal("list", floats.GetProperty("object").GetString());
        var item = floats.GetProperty("data")[0];
        Assert.Equal(("embedding", 0), (item.GetProperty("object").GetString(), item.GetProperty("index").GetInt32()));
        var vector = item.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(384, vector.Length);
        Assert.Equal((8, 8), (floats.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), floats.GetProperty("usage").GetProperty("total_tokens").GetInt32()));
        Assert.Equal(256, floats.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0, floats.GetProperty("truncated_inputs").GetArrayLength());

        var base64 = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json($$"""{"model": "{{MiniLmSampleServer.Model}}", "input": ["{{Food}}"], "encoding_format": "base64"}""")), HttpStatusCode.OK);
        var bytes = Convert.FromBase64String(base64.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        Assert.Equal(vector, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray());

        // One token array and an array of token arrays ([CLS] a man is eating food . [SEP], with or without the specials).
        var tokens = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json($$"""{"model": "{{MiniLmSampleServer.Model}}", "input": [[101, 1037, 2158, 2003, 5983, 2833, 1012, 102], [1037, 2158, 2003, 5983, 2833, 1012]]}""")), HttpStatusCode.OK);
        foreach (var entry in tokens.GetProperty("data").EnumerateArray())
        {
            var v = entry.GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();
            Assert.Equal(1f, TensorPrimitives.CosineSimilarity(vector, v), 1e-5f);
        }

        var single = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json($$"""{"model": "{{MiniLmSampleServer.Model}}", "input": [1037, 2158, 2003, 5983, 2833, 1012]}""")), HttpStatusCode.OK);
        Assert.Single(single.GetProperty("data").EnumerateArray());

        // A text longer than the model takes is cut at 256 tokens and reported.
        var longText = string.Join(' ', Enumerable.Repeat("banana", 300));
        var cut = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json($$"""{"model": "{{MiniLmSampleServer.Model}}", "input": ["short", "{{longText}}"]}""")), HttpStatusCode.OK);
        Assert.Equal([1], cut.GetProperty("truncated_inputs").EnumerateArray().Select(i => i.GetInt32()));
    }

    [Theory]
    [InlineData("""{"model": "all-MiniLM-L6-v2", "input": []}""", "invalid_input", "'input' is empty", "input")]
    [InlineData("""{"model": "all-MiniLM-L6-v2", "input": ""}""", "invalid_input", "input[0] is an empty string", "input")]
    [InlineData("""{"model": "all-MiniLM-L6-v2"}""", "invalid_input", "'input' is required", "input")]
    [InlineData("""{"model": "all-MiniLM-L6-v2", "input": {"text": "x"}}""", "invalid_input", "'input' is a JSON object", "input")]
    [InlineData("""{"model": "all-MiniLM-L6-v2", "input": ["a", 5]}""", "invalid_input", "mixes kinds", "input")]
    [InlineData("""{"model": "all-MiniLM-L6-v2", "input": [[101, 99999, 102]]}""", "invalid_input", "99999", "input")]
    [InlineData("""{"model": "all-MiniLM-L6-v2", "input": [[101, 1.5]]}""", "invalid_input", "not a token id", "input")]
    [InlineData("""{"model": "all-MiniLM-L6-v2", "input": "x", "dimensions": 1024}""", "invalid_input", "384", "dimensions")]
    [InlineData("""{"model": "all-MiniLM-L6-v2", "input": "x", "encoding_format": "int8"}""", "invalid_input", "'float' or 'base64'", "encoding_format")]
    [InlineData("""{"input": "x"}""", "invalid_input", "'model' is required", "model")]
    [InlineData("""{"model": "demo-mlp", "input": "x"}""", "unsupported_task", "no tokenizer", null)]
    [InlineData("""{"model": "all-MiniLM-L6-v2", "input": "x", "truncate": false, "dimensions": 0}""", "invalid_input", "'dimensions' is 0", "dimensions")]
    [InlineData("""{"model": "all-MiniLM-L6-v2", "input": ["ok", "\ud800"]}""", "invalid_input", "input[1] is not valid text", "input")]
    [InlineData("""{"model": "all-MiniLM-L6-v2", "input": "\udc00abc"}""", "invalid_input", "unpaired", "input")]
    public async Task V1Embeddings_BadInput_Is400InOpenAiErrorShape(string body, string code, string message, string? param)
    {
        var json = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json(body)), HttpStatusCode.BadRequest, code);
        var error = json.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task V1Embeddings_TooManyInputs_AndTruncationOff_AreRefused()
    {
        var many = JsonSerializer.Serialize(new { model = MiniLmSampleServer.Model, input = Enumerable.Repeat("x", 2049) });
        var json = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json(many)), HttpStatusCode.BadRequest, "invalid_input");
        Assert.Contains("2049 entries; at most 2048", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        var longText = string.Join(' ', Enumerable.Repeat("banana", 300));
        json = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json($$"""{"model": "{{MiniLmSampleServer.Model}}", "input": "{{longText}}", "truncate": false}""")), HttpStatusCode.BadRequest, "invalid_input");
        Assert.Contains("takes at most 256", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task V1_UnknownModel_UnknownPath_AndCompletions_AnswerInOpenAiShape()
    {
        var missing = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json("""{"model": "nope", "input": "x"}""")), HttpStatusCode.NotFound, "model_not_found");
        Assert.Equal("not_found_error", missing.GetProperty("error").GetProperty("type").GetString());
        await ExpectAsync(await _client.GetAsync("/v1/models/nope"), HttpStatusCode.NotFound, "model_not_found");
        await ExpectAsync(await _client.GetAsync("/v1/nothing-here"), HttpStatusCode.NotFound, "not_found");
        var chat = await ExpectAsync(await _client.PostAsync("/v1/chat/completions", Json("""{"model": "x", "messages": []}""")), HttpStatusCode.BadRequest, "invalid_input");
        Assert.Equal("messages", chat.GetProperty("error").GetProperty("param").GetString());

        using var anonymous = new HttpClient { BaseAddress = _client.BaseAddress };
        var unauthorized = await ExpectAsync(await anonymous.GetAsync("/v1/models"), HttpStatusCode.Unauthorized);
        Assert.Equal("authentication_error", unauthorized.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task TextEncoder_UploadedOverHttpAsSeveralFiles_EmbedsLikeTheBundledOne()
    {
        // Seed 002: create, then upload the model with its tokenizer and sentence-transformers files in one multipart
        // request, each as a part named 'files' whose file name is its name in the version.
        var files = ModelKit.ModelGenerator.PretrainedModels.MiniLmDirectory;
        await ExpectAsync(await _client.PostAsync("/api/v1/models", Json("""{"model_id": "minilm-uploaded", "name": "MiniLM uploaded", "task": "feature-extraction"}""")), HttpStatusCode.Created);
        using (var form = new MultipartFormDataContent())
        {
            foreach (var name in ModelKit.ModelGenerator.PretrainedModels.MiniLmFiles.Reverse()) // the .onnx file is found wherever it is
            {
                var part = new StreamContent(File.OpenRead(Path.Combine(files, name)));
                form.Add(part, "files", name);
            }

            var uploaded = await ExpectAsync(await _client.PostAsync("/api/v1/models/minilm-uploaded/upload", form), HttpStatusCode.OK);
            var version = uploaded.GetProperty("data");
            Assert.Equal("ready", version.GetProperty("status").GetString());
            var names = version.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToArray();
            Assert.Equal("model.onnx", names[0]);
            Assert.Contains("1_Pooling/config.json", names);
        }

        var bundled = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json($$"""{"model": "{{MiniLmSampleServer.Model}}", "input": "{{Food}}"}""")), HttpStatusCode.OK);
        var uploadedVector = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json($$"""{"model": "minilm-uploaded", "input": "{{Food}}"}""")), HttpStatusCode.OK);
        Assert.Equal(
            bundled.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()),
            uploadedVector.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()));

        // Two parts with one name, or a 'file' part beside 'files' parts, are refused.
        using var twice = new MultipartFormDataContent
        {
            { new ByteArrayContent([1, 2, 3]), "files", "vocab.txt" },
            { new ByteArrayContent([1, 2, 3]), "files", "vocab.txt" },
        };
        await ExpectAsync(await _client.PostAsync("/api/v1/models/minilm-uploaded/upload", twice), HttpStatusCode.BadRequest, "INVALID_INPUT");

        // A tokenizer file that cannot be read fails the upload (400, nothing kept) instead of every request later.
        using (var broken = new MultipartFormDataContent
        {
            { new StreamContent(File.OpenRead(Path.Combine(files, "model.onnx"))), "files", "model.onnx" },
            { new StringContent("{ this is not a tokenizer"), "files", "tokenizer.json" },
        })
        {
            var json = await ExpectAsync(await _client.PostAsync("/api/v1/models/minilm-uploaded/upload", broken), HttpStatusCode.BadRequest, "INVALID_MODEL_CONFIG");
            var message = json.GetProperty("message").GetString()!;
            Assert.Contains("tokenizer.json", message, StringComparison.Ordinal);
            Assert.DoesNotContain("/tmp", message, StringComparison.Ordinal);
            Assert.DoesNotContain(server.Factory.DataDirectory, message, StringComparison.Ordinal);
        }

        // A 'file' part with 'files' parts after it: refused, and the version the first part made is gone again.
        using var mixed = new MultipartFormDataContent
        {
            { new StreamContent(File.OpenRead(Path.Combine(files, "model.onnx"))), "file", "model.onnx" },
            { new StreamContent(File.OpenRead(Path.Combine(files, "vocab.txt"))), "files", "vocab.txt" },
        };
        var refused = await ExpectAsync(await _client.PostAsync("/api/v1/models/minilm-uploaded/upload", mixed), HttpStatusCode.BadRequest, "INVALID_INPUT");
        Assert.Contains("not both", refused.GetProperty("message").GetString(), StringComparison.Ordinal);
        // The first upload made version "1"; the refused ones left nothing beside it.
        var versions = (await ExpectAsync(await _client.GetAsync("/api/v1/models/minilm-uploaded/versions"), HttpStatusCode.OK)).GetProperty("data").GetProperty("versions");
        Assert.Equal(["1"], versions.EnumerateArray().Select(v => v.GetProperty("version").GetString()));
    }

    [Fact]
    public async Task TextEncoder_UploadedFileByFile_OnABaseVersion()
    {
        var files = ModelKit.ModelGenerator.PretrainedModels.MiniLmDirectory;
        await ExpectAsync(await _client.PostAsync("/api/v1/models", Json("""{"model_id": "minilm-by-file", "name": "MiniLM file by file"}""")), HttpStatusCode.Created);

        // Version 1: the model alone; it has no tokenizer yet, so it cannot embed text.
        using (var model = new MultipartFormDataContent { { new StreamContent(File.OpenRead(Path.Combine(files, "model.onnx"))), "file", "model.onnx" } })
        {
            await ExpectAsync(await _client.PostAsync("/api/v1/models/minilm-by-file/upload", model), HttpStatusCode.OK);
        }

        await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json("""{"model": "minilm-by-file", "input": "x"}""")), HttpStatusCode.BadRequest, "unsupported_task");

        // Version 2 = version 1's files + the tokenizer, then version 3 = version 2's + the sentence-transformers files.
        using (var vocab = new MultipartFormDataContent { { new StreamContent(File.OpenRead(Path.Combine(files, "vocab.txt"))), "file", "vocab.txt" } })
        {
            var v2 = await ExpectAsync(await _client.PostAsync("/api/v1/models/minilm-by-file/upload?base_version=1", vocab), HttpStatusCode.OK);
            Assert.Equal(["model.onnx", "vocab.txt"], v2.GetProperty("data").GetProperty("files").EnumerateArray().Select(f => f.GetProperty("name").GetString()));
        }

        using (var configs = new MultipartFormDataContent { { new StringContent("2"), "base_version" } })
        {
            foreach (var name in new[] { "tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json", "modules.json", "1_Pooling/config.json" })
            {
                configs.Add(new StreamContent(File.OpenRead(Path.Combine(files, name))), "files", name);
            }

            var v3 = await ExpectAsync(await _client.PostAsync("/api/v1/models/minilm-by-file/upload", configs), HttpStatusCode.OK);
            Assert.Equal(("3", "model.onnx", 7), (v3.GetProperty("data").GetProperty("version").GetString(), v3.GetProperty("data").GetProperty("files")[0].GetProperty("name").GetString(), v3.GetProperty("data").GetProperty("files").GetArrayLength()));
        }

        var bundled = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json($$"""{"model": "{{MiniLmSampleServer.Model}}", "input": "{{Food}}"}""")), HttpStatusCode.OK);
        var assembled = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json($$"""{"model": "minilm-by-file", "input": "{{Food}}", "version": "3"}""")), HttpStatusCode.OK);
        Assert.Equal(
            bundled.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()),
            assembled.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()));

        using var missing = new MultipartFormDataContent { { new StringContent("x"), "file", "vocab.txt" } };
        await ExpectAsync(await _client.PostAsync("/api/v1/models/minilm-by-file/upload?base_version=9", missing), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
    }

    [Fact]
    public async Task Seed000Batching_MaxBatchElements_SetsTheTokenBudget()
    {
        var deployments = server.Factory.Services.GetRequiredService<ModelKit.Deployments.IDeploymentManager>();
        Assert.Equal(512, deployments.GetDeployment(MiniLmSampleServer.Model).Batching.MaxBatchElements); // the sample's

        await ExpectAsync(await _client.PutAsync($"/api/v1/models/{MiniLmSampleServer.Model}", Json("""{"config": {"batching": {"max_batch_elements": 1024}}}""")), HttpStatusCode.OK);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (deployments.GetDeployment(MiniLmSampleServer.Model).Batching.MaxBatchElements != 1024 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(1024, deployments.GetDeployment(MiniLmSampleServer.Model).Batching.MaxBatchElements);
        await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json($$"""{"model": "{{MiniLmSampleServer.Model}}", "input": ["{{Food}}", "{{Bread}}"]}""")), HttpStatusCode.OK);

        await ExpectAsync(await _client.PutAsync($"/api/v1/models/{MiniLmSampleServer.Model}", Json("""{"config": {"batching": {"max_batch_elements": 0}}}""")), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task OpenInferenceProtocol_BytesTextInput_GivesEmbeddings()
    {
        var json = await ExpectAsync(await _client.PostAsync($"/v2/models/{MiniLmSampleServer.Model}/infer", Json($$"""
            {"id": "t1", "inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["{{Food}}", "{{Bread}}"]}]}
            """)), HttpStatusCode.OK);
        Assert.Equal("t1", json.GetProperty("id").GetString());
        var output = Assert.Single(json.GetProperty("outputs").EnumerateArray());
        Assert.Equal(("embeddings", "FP32"), (output.GetProperty("name").GetString(), output.GetProperty("datatype").GetString()));
        Assert.Equal([2, 384], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        var data = output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(0.755, TensorPrimitives.CosineSimilarity(data.AsSpan(0, 384), data.AsSpan(384, 384)), 0.005);

        await ExpectAsync(await _client.PostAsync($"/v2/models/{MiniLmSampleServer.Model}/infer", Json("""
            {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["ok", ""]}]}
            """)), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ExpectAsync(await _client.PostAsync($"/v2/models/{MiniLmSampleServer.Model}/infer", Json("""
            {"inputs": [{"name": "text", "shape": [1, 2], "datatype": "BYTES", "data": ["a", "b"]}]}
            """)), HttpStatusCode.BadRequest, "INVALID_INPUT");

        // The binary extension: a text as UTF-8 bytes works; bytes that are not UTF-8 are refused, not replaced.
        foreach (var (bytes, status) in new[] { ("A man is eating food."u8.ToArray(), HttpStatusCode.OK), (new byte[] { 0x61, 0xff, 0xfe }, HttpStatusCode.BadRequest) })
        {
            var element = new byte[4 + bytes.Length];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(element, bytes.Length);
            bytes.CopyTo(element, 4);
            var header = JsonSerializer.SerializeToUtf8Bytes(new { inputs = new[] { new { name = "text", shape = new[] { 1 }, datatype = "BYTES", parameters = new { binary_data_size = element.Length } } } });
            using var content = new ByteArrayContent([.. header, .. element]);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var answer = await ExpectAsync(await _client.PostAsync($"/v2/models/{MiniLmSampleServer.Model}/infer", content), status, status == HttpStatusCode.OK ? null : "INVALID_INPUT");
            if (status != HttpStatusCode.OK) Assert.Contains("not valid UTF-8", answer.GetProperty("error").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Seed001Embeddings_TheSeedsExampleVerbatim_InTheEnvelope()
    {
        using var bearer = new HttpClient { BaseAddress = _client.BaseAddress };
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", SampleServerFactory.AdminKey);
        var json = await ExpectAsync(await bearer.PostAsync($"/models/{MiniLmSampleServer.Model}/embeddings", Json("""
            {
              "input": ["这是第一段文本", "这是第二段文本"],
              "encoding_format": "float"
            }
            """)), HttpStatusCode.OK);
        Assert.Equal((200, "success"), (json.GetProperty("code").GetInt32(), json.GetProperty("message").GetString()));
        Assert.True(Guid.TryParse(json.GetProperty("request_id").GetString(), out _));
        var data = json.GetProperty("data");
        Assert.Equal(("list", MiniLmSampleServer.Model), (data.GetProperty("object").GetString(), data.GetProperty("model").GetString()));
        var items = data.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal([0, 1], items.Select(i => i.GetProperty("index").GetInt32()));
        Assert.All(items, i => Assert.Equal(("embedding", 384), (i.GetProperty("object").GetString(), i.GetProperty("embedding").GetArrayLength())));
        var usage = data.GetProperty("usage");
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > 4);
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());

        // Errors in the seed's envelope, with its codes.
        var empty = await ExpectAsync(await bearer.PostAsync($"/models/{MiniLmSampleServer.Model}/embeddings", Json("""{"input": []}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        Assert.Equal(400, empty.GetProperty("code").GetInt32());
        await ExpectAsync(await bearer.PostAsync("/models/demo-mlp/embeddings", Json("""{"input": ["x"]}""")), HttpStatusCode.BadRequest, "UNSUPPORTED_TASK");
        await ExpectAsync(await bearer.PostAsync($"/models/{MiniLmSampleServer.Model}/embeddings", Json("""{"input": "x", "dimensions": 385}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ExpectAsync(await bearer.PostAsync("/models/nope/embeddings", Json("""{"input": "x"}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
    }
}
