namespace ModelKit.Registry;

/// <summary>How the seeds name a model in a request, for every surface (REST and gRPC) alike.</summary>
public static class ModelNaming
{
    /// <summary>
    /// Seed 001's local deployment names a model by its type and size: <c>deepseek-v3</c> + <c>7b</c> is the model
    /// <c>deepseek-v3-7b</c>; an explicit <paramref name="modelId"/> wins, and a type without a size is the id itself.
    /// INVALID_INPUT when none is given.
    /// </summary>
    public static string FromTypeAndSize(string? modelId, string? modelType, string? modelSize) =>
        (string.IsNullOrWhiteSpace(modelId) ? null : modelId)
        ?? (string.IsNullOrWhiteSpace(modelType) ? null : string.IsNullOrWhiteSpace(modelSize) ? modelType : $"{modelType}-{modelSize}")
        ?? throw new InvalidInputException("'model_type' (with 'model_size') or 'model_id' is required.");
}
