using ModelKit.Scheduling;

namespace ModelKit.Text;

/// <summary>Texts (or token ids) to embed with one model.</summary>
public sealed record TextEmbeddingRequest
{
    /// <summary>The model id.</summary>
    public required string ModelId { get; init; }

    /// <summary>The version; null: the running deployment's, else the default version.</summary>
    public string? Version { get; init; }

    /// <summary>The texts; set this or <see cref="TokenIds"/>.</summary>
    public IReadOnlyList<string>? Texts { get; init; }

    /// <summary>
    /// Texts already tokenized with the model's tokenizer; set this or <see cref="Texts"/>. The special tokens (BERT's
    /// <c>[CLS]</c>, <c>[SEP]</c>) are added unless an entry already starts and ends with them.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int>>? TokenIds { get; init; }

    /// <summary>
    /// The length of the vectors returned: the first values of each (meaningful for models trained for it, such as
    /// Matryoshka models), normalised again when <see cref="Normalize"/> holds. Null: the model's full length.
    /// </summary>
    public int? Dimensions { get; init; }

    /// <summary>Scale each vector to unit length. Null: as the model's files say (sentence-transformers' Normalize module; else true).</summary>
    public bool? Normalize { get; init; }

    /// <summary>Cut texts longer than the model takes (and say so in the result); false refuses them with INVALID_INPUT. Default: true.</summary>
    public bool Truncate { get; init; } = true;

    /// <summary>The queue priority; null: normal.</summary>
    public RequestPriority? Priority { get; init; }

    /// <summary>How long the request may take; null: the inference default.</summary>
    public TimeSpan? Timeout { get; init; }
}
