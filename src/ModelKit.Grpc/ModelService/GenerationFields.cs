using Google.Protobuf.Collections;

namespace ModelKit.Grpc.Model;

/// <summary>
/// The fields <see cref="ChatCompletionRequest"/> and <see cref="CompletionRequest"/> share (the model and the sampling
/// parameters, as REST's bodies share them), so that one mapping serves both generated messages.
/// </summary>
internal interface IGenerationFields
{
    string ModelId { get; }
    bool HasVersion { get; }
    string Version { get; }
    int MaxTokens { get; }
    float Temperature { get; }
    bool HasTopP { get; }
    float TopP { get; }
    bool HasTopK { get; }
    int TopK { get; }
    bool HasN { get; }
    int N { get; }
    RepeatedField<string> Stop { get; }
    float PresencePenalty { get; }
    float FrequencyPenalty { get; }
    bool HasSeed { get; }
    long Seed { get; }
    bool HasPriority { get; }
    string Priority { get; }
}

/// <summary>A chat request's shared fields.</summary>
internal sealed partial class ChatCompletionRequest : IGenerationFields;

/// <summary>A completion request's shared fields.</summary>
internal sealed partial class CompletionRequest : IGenerationFields;
