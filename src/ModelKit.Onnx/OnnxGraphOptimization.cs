namespace ModelKit.Onnx;

/// <summary>How graphs are optimised when a session is created.</summary>
public enum OnnxGraphOptimization
{
    /// <summary>No optimisation.</summary>
    None,
    /// <summary>Semantics-preserving rewrites such as constant folding.</summary>
    Basic,
    /// <summary>Basic plus node fusions.</summary>
    Extended,
    /// <summary>Everything, including layout changes (the default).</summary>
    All,
}
