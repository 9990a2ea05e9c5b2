using TokenGrid.Benchmarks;
using TokenGrid.Benchmarks.Cluster;
using TokenGrid.Benchmarks.Engine;
using TokenGrid.Benchmarks.Grid;
using TokenGrid.Benchmarks.Scheduling;
using TokenGrid.Benchmarks.Soak;
using TokenGrid.Benchmarks.Tokenizers;

// Usage: dotnet run -c Release --project tests/TokenGrid.Benchmarks -- <scenario> [--json FILE] [scenario options]
// Every scenario prints its figures and, with --json, writes one flat JSON object with stable keys.
var scenarios = new Dictionary<string, Func<BenchmarkArgs, Task<BenchmarkReport>>>(StringComparer.OrdinalIgnoreCase)
{
    ["engine"] = EngineBenchmark.RunAsync,
    ["admission"] = AdmissionBenchmark.RunAsync,
    ["grid"] = GridBenchmark.RunAsync,
    ["metrics"] = MetricsOverheadBenchmark.RunAsync,
    ["fairness"] = FairnessBenchmark.RunAsync,
    ["scheduler"] = SchedulerBenchmark.RunAsync,
    ["cluster"] = ClusterBenchmark.RunAsync,
    ["tokenizer"] = TokenizerBenchmark.RunAsync,
    ["soak"] = SoakBenchmark.RunAsync,
};

if (args.Length == 0 || !scenarios.TryGetValue(args[0], out var scenario))
{
    Console.Error.WriteLine($"usage: <scenario> [--json FILE] [--key value ...]; scenarios: {string.Join(", ", scenarios.Keys)}");
    return 2;
}

var parsed = BenchmarkArgs.Parse(args[1..]);
var report = await scenario(parsed);
report.Print(Console.Out);
if (parsed.JsonPath is { } path)
{
    report.WriteJson(path);
    Console.WriteLine($"wrote {path}");
}

return 0;
