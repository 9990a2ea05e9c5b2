using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Runtime;

/// <summary>
/// ONNX Runtime session settings a model directory asks for (<c>model.decoder.session_options</c> of
/// <c>genai_config.json</c>). Null fields keep ONNX Runtime's default, except where noted. The node's own
/// configuration (<see cref="Models.ModelLoadOptions"/>) wins where both give a value.
/// </summary>
public sealed record SessionSettings
{
    /// <summary>No settings from the model directory.</summary>
    public static SessionSettings None { get; } = new();

    /// <summary>Intra-op threads, unless the node configures its own. Default: null (ONNX Runtime chooses).</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>Inter-op threads. Default: null.</summary>
    public int? InterOpThreads { get; init; }

    /// <summary>ONNX Runtime log severity (0 verbose … 4 fatal). Default: null (warning).</summary>
    public int? LogSeverityLevel { get; init; }

    /// <summary>ONNX Runtime verbose log level. Default: null.</summary>
    public int? LogVerbosityLevel { get; init; }

    /// <summary>Log id of the session. Default: null.</summary>
    public string? LogId { get; init; }

    /// <summary>Graph optimisation level. Default: null, which TokenGrid takes as <see cref="GraphOptimizationLevel.ORT_ENABLE_ALL"/>.</summary>
    public GraphOptimizationLevel? GraphOptimizationLevel { get; init; }

    /// <summary>Whether the CPU memory arena is on. Default: null (on).</summary>
    public bool? EnableCpuMemArena { get; init; }

    /// <summary>Whether memory patterns are on. Default: null (on).</summary>
    public bool? EnableMemoryPattern { get; init; }

    /// <summary>Full path of a custom operator library to register. Default: null.</summary>
    public string? CustomOpsLibrary { get; init; }

    /// <summary>Other session options, given to <c>AddSessionConfigEntry</c> as they are. Default: none.</summary>
    public IReadOnlyDictionary<string, string> ConfigEntries { get; init; } = new Dictionary<string, string>();

    /// <summary>CUDA provider options, used when the session runs on CUDA. Default: none.</summary>
    public IReadOnlyDictionary<string, string> CudaOptions { get; init; } = new Dictionary<string, string>();
}
