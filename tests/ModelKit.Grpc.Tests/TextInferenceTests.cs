using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Grpc.Inference;
using ModelKit.Text;

namespace ModelKit.Grpc.Tests;

/// <summary>
/// ModelInfer with one BYTES input of texts to a text encoder (all-MiniLM-L6-v2): its tokenizer makes the model's inputs
/// and the answer is 'embeddings', as REST's /v2 answers it — equal to the in-process embedding service's vectors.
/// </summary>
public sealed class TextInferenceTests(ModelServiceServer server) : IClassFixture<ModelServiceServer>
{
    private static readonly string[] Texts = ["A man is eating food.", "A man is eating a piece of bread."];

    [Fact]
    public async Task ModelInfer_TextsToAnEncoder_AnswersItsEmbeddings_TypedAndRaw()
    {
        await server.WaitUntilRunningAsync(ModelServiceServer.Encoder);
        var expected = await server.Services.GetRequiredService<ITextEmbeddingService>().EmbedAsync(new TextEmbeddingRequest { ModelId = ModelServiceServer.Encoder, Texts = Texts });
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(server.Invoker());

        var typed = new ModelInferRequest.Types.InferInputTensor { Name = "text", Datatype = "BYTES", Shape = { Texts.Length } };
        typed.Contents = new InferTensorContents { BytesContents = { Texts.Select(ByteString.CopyFromUtf8) } };
        var response = await client.ModelInferAsync(new ModelInferRequest { ModelName = ModelServiceServer.Encoder, Inputs = { typed } });
        var output = Assert.Single(response.Outputs);
        Assert.Equal(("embeddings", "FP32"), (output.Name, output.Datatype));
        Assert.Equal([Texts.Length, (long)expected.Dimensions], output.Shape);
        Assert.Equal(expected.Embeddings.SelectMany(e => e.ToArray()), output.Contents.Fp32Contents);

        // Raw: each text after its 4-byte little-endian length; raw embeddings back.
        var raw = new MemoryStream();
        foreach (var text in Texts)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(text);
            raw.Write(BitConverter.GetBytes(bytes.Length));
            raw.Write(bytes);
        }

        var rawInput = new ModelInferRequest.Types.InferInputTensor { Name = "text", Datatype = "BYTES", Shape = { Texts.Length, 1 } };
        var rawResponse = await client.ModelInferAsync(new ModelInferRequest { ModelName = ModelServiceServer.Encoder, Inputs = { rawInput }, RawInputContents = { ByteString.CopyFrom(raw.ToArray()) } });
        Assert.Equal(expected.Embeddings.SelectMany(e => e.ToArray()), MemoryMarshal.Cast<byte, float>(Assert.Single(rawResponse.RawOutputContents).Span).ToArray());
    }
}
