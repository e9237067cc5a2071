namespace ModelKit.Backends;

/// <summary>The kinds of device a model can run on.</summary>
public enum DeviceKind
{
    /// <summary>The host CPU.</summary>
    Cpu,
    /// <summary>An NVIDIA GPU through CUDA.</summary>
    Cuda,
}
