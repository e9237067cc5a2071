using ModelKit.Inference;
using ModelKit.Serving;
using ModelKit.Tensors;
using ModelKit.Text;

namespace ModelKit.AspNetCore;

/// <summary>
/// The Open Inference Protocol's text path, shared by its REST (<c>/v2</c>) and gRPC surfaces: one BYTES input sent to
/// a model that takes no strings is a list of texts for its tokenizer (a text encoder), answered as the output
/// <c>embeddings</c>, FP32 <c>[n, dimensions]</c>, through <see cref="ITextEmbeddingService"/>.
/// </summary>
internal static class OpenInferenceProtocolText
{
    /// <summary>The output the text path answers.</summary>
    public const string EmbeddingsOutput = "embeddings";

    /// <summary>Whether a request of <paramref name="inputCount"/> inputs, the first of datatype <paramref name="firstDataType"/>, is texts for <paramref name="signature"/>'s model.</summary>
    public static bool IsTextInput(int inputCount, string? firstDataType, ModelSignature? signature)
    {
        if (inputCount != 1 || firstDataType != "BYTES" || signature is null) return false;
        foreach (var input in signature.Inputs)
        {
            if (input.ElementType == TensorElementType.String) return false;
        }

        return true;
    }

    /// <summary>The texts of <paramref name="input"/> (shape <c>[n]</c> or <c>[n, 1]</c>) embedded by <paramref name="model"/>.</summary>
    public static async Task<InferenceResult> EmbedAsync(ITextEmbeddingService text, IServedModel model, Tensor input, CancellationToken cancellationToken)
    {
        if (input.Rank is < 1 or > 2 || (input.Rank == 2 && input.Shape[1] != 1))
        {
            throw new InvalidInputException($"A text input has shape [n] or [n, 1] (one text per row), not {Tensor.FormatShape(input.Shape)}.");
        }

        var result = await text.EmbedAsync(new TextEmbeddingRequest { ModelId = model.ModelId, Version = model.Version, Texts = input.AsSpan<string>().ToArray() }, cancellationToken);
        var rows = result.Embeddings.Count;
        var flat = new float[rows * result.Dimensions];
        for (var i = 0; i < rows; i++) result.Embeddings[i].CopyTo(flat, i * result.Dimensions);
        return new InferenceResult
        {
            ModelId = result.ModelId,
            Version = result.Version,
            Outputs = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [EmbeddingsOutput] = Tensor.Create(flat, rows, result.Dimensions) },
        };
    }
}
