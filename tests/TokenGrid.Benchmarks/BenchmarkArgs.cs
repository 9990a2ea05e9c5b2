using System.Globalization;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Benchmarks;

/// <summary>Command-line options: <c>--json FILE</c> plus scenario-specific <c>--key value</c> pairs.</summary>
public sealed class BenchmarkArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    public string? JsonPath => _values.GetValueOrDefault("json");

    public static BenchmarkArgs Parse(string[] args)
    {
        var parsed = new BenchmarkArgs();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--key value', got '{args[i]}'.");
            }

            parsed._values[args[i][2..]] = args[++i];
        }

        return parsed;
    }

    public int Int(string key, int fallback) =>
        _values.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public string? String(string key) => _values.GetValueOrDefault(key);

    /// <summary><c>--provider auto|cuda|cpu</c>: the execution provider to ask for. Default: auto.</summary>
    public ExecutionProviderPreference Provider() => String("provider")?.ToLowerInvariant() switch
    {
        null or "auto" => ExecutionProviderPreference.Auto,
        "cuda" => ExecutionProviderPreference.Cuda,
        "cpu" => ExecutionProviderPreference.Cpu,
        var other => throw new ArgumentException($"--provider must be auto, cuda or cpu, not '{other}'."),
    };
}
