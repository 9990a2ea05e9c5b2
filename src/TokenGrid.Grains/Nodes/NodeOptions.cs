using Microsoft.Extensions.Options;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Nodes;

/// <summary>The devices a silo runs models on, and how its nodes report (section <see cref="SectionName"/>).</summary>
/// <example>
/// <code>
/// "TokenGrid": { "Nodes": { "Devices": [ "gpu0", "gpu1" ], "Provider": "cuda", "Engine": { "MaxBatchSize": 64 } } }
/// </code>
/// </example>
public sealed class NodeOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "TokenGrid:Nodes";

    /// <summary>The device a silo gets when none is configured.</summary>
    public const string DefaultDevice = "cpu0";

    /// <summary>
    /// Devices of this silo, one node each: <c>cpuN</c> runs on the CPU, <c>gpuN</c> on CUDA device N with
    /// <see cref="Provider"/>. Default: <c>["cpu0"]</c> (applied when the list is empty after binding, because binding
    /// appends to a pre-filled list).
    /// </summary>
    public List<string> Devices { get; set; } = [];

    /// <summary>
    /// Execution provider of <c>gpuN</c> devices: <c>auto</c> (CUDA, else the CPU with the reason reported),
    /// <c>cuda</c> (CUDA or fail at startup) or <c>cpu</c>. Default: <see cref="ExecutionProviderPreference.Auto"/>.
    /// </summary>
    public ExecutionProviderPreference Provider { get; set; } = ExecutionProviderPreference.Auto;

    /// <summary>How often each node reports its load to the registry. Default: 2 seconds.</summary>
    public TimeSpan ReportPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A node whose latest report is older than this many report periods counts as gone. Default: 3.</summary>
    public int StaleAfterPeriods { get; set; } = 3;

    /// <summary>ONNX Runtime intra-op threads per engine; 0 lets ONNX Runtime choose. Default: 0.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Settings of every engine (one per device and model). Default: <see cref="EngineOptions"/>' defaults.</summary>
    public EngineOptions Engine { get; set; } = new();

    /// <summary>How long a report stays live in the registry: <see cref="ReportPeriod"/> × <see cref="StaleAfterPeriods"/>.</summary>
    public TimeSpan ReportLifetime => ReportPeriod * StaleAfterPeriods;

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate()
    {
        foreach (var device in Devices)
        {
            if (!DeviceName.TryParse(device, out _, out _))
            {
                return $"device '{device}' is not of the form cpuN or gpuN.";
            }
        }

        return Devices.Count == 0 ? "at least one device must be configured."
            : Devices.Distinct(StringComparer.Ordinal).Count() != Devices.Count ? "a device is configured more than once."
            : !Enum.IsDefined(Provider) ? "provider must be auto, cuda or cpu."
            : ReportPeriod <= TimeSpan.Zero ? "the report period must be positive."
            : StaleAfterPeriods < 1 ? "stale-after-periods must be at least 1."
            : IntraOpThreads < 0 ? "intra-op threads must not be negative."
            : Engine.Validate() is { } engine ? $"engine: {engine}"
            : null;
    }
}

/// <summary>Validates <see cref="NodeOptions"/> at startup.</summary>
internal sealed class NodeOptionsValidator : IValidateOptions<NodeOptions>
{
    public ValidateOptionsResult Validate(string? name, NodeOptions options) =>
        options.Validate() is { } error ? ValidateOptionsResult.Fail($"{NodeOptions.SectionName}: {error}") : ValidateOptionsResult.Success;
}
