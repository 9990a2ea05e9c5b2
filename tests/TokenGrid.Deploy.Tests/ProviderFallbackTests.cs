using TokenGrid.Deploy.Tests.Support;

namespace TokenGrid.Deploy.Tests;

/// <summary>
/// The real silo executable choosing its execution provider as platform teams run it (auto: CUDA where the machine has
/// it, else the CPU). Falling back is reported in TokenGrid's own words; ONNX Runtime's native error line about the
/// provider's library (written to stderr in red, outside .NET) must not make a working start read as a failure.
/// </summary>
public sealed class ProviderFallbackTests
{
    [Fact]
    public async Task Trying_CUDA_on_the_way_to_the_CPU_prints_no_native_error_line()
    {
        var result = await ProcessRunner.RunAsync("dotnet", [SiloBuild.Dll, "generate", "The", "--max-tokens", "1", "--provider", "auto"], TimeSpan.FromMinutes(3));

        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("model ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("[E:onnxruntime", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("[E:onnxruntime", result.Output, StringComparison.Ordinal);
    }
}
