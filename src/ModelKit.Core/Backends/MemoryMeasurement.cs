namespace ModelKit.Backends;

/// <summary>How the memory of a loaded model was determined.</summary>
public enum MemoryMeasurement
{
    /// <summary>The growth of the process's resident memory while the session was created (not used by the ONNX Runtime backend).</summary>
    Measured,
    /// <summary>Estimated from the artifact's size.</summary>
    Estimated,
    /// <summary>
    /// Estimated from the bytes of the tensors the model holds (its initializers), read from the artifact without loading it,
    /// plus the backend's per-session allowance: the same figure on every load of the same file.
    /// </summary>
    InitializerEstimate,
}
