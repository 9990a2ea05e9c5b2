namespace TokenGrid.Inference.Runtime;

/// <summary>Which ONNX Runtime execution provider a node asks for.</summary>
public enum ExecutionProviderPreference
{
    /// <summary>Try CUDA, fall back to the CPU with the reason reported. The default.</summary>
    Auto,

    /// <summary>CUDA only: a clear error when this build or machine has no CUDA.</summary>
    Cuda,

    /// <summary>The CPU provider.</summary>
    Cpu,
}

/// <summary>The execution provider a session actually runs on.</summary>
public enum ExecutionProviderKind
{
    /// <summary>ONNX Runtime's CPU provider.</summary>
    Cpu,

    /// <summary>ONNX Runtime's CUDA provider.</summary>
    Cuda,
}
