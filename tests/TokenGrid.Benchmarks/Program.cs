using System.CommandLine;
using TokenGrid.Benchmarks.Cluster;
using TokenGrid.Benchmarks.Engine;
using TokenGrid.Benchmarks.Grid;
using TokenGrid.Benchmarks.Scheduling;
using TokenGrid.Benchmarks.Soak;
using TokenGrid.Benchmarks.Structured;
using TokenGrid.Benchmarks.Tokenizers;
using TokenGrid.Silo.Commands;

// Usage: dotnet run -c Release --project tests/TokenGrid.Benchmarks -- <scenario> [--json FILE] [scenario options]
// Every scenario prints its figures and, with --json, writes one flat JSON object with stable keys ("--help" for all).
var root = new RootCommand("TokenGrid's benchmark scenarios (docs/benchmarks.md).")
{
    EngineBenchmark.Create(),
    LaneBenchmark.Create(),
    AdmissionBenchmark.Create(),
    TokenGrid.Benchmarks.Billing.StatementBenchmark.Create(),
    GridBenchmark.Create(),
    MetricsOverheadBenchmark.Create(),
    FairnessBenchmark.Create(),
    SchedulerBenchmark.Create(),
    ClusterBenchmark.Create(),
    TokenizerBenchmark.Create(),
    SoakBenchmark.Create(),
    StructuredBenchmark.Create(),
    TokenGrid.Benchmarks.Prefix.PrefixBenchmark.Create(),
    TokenGrid.Benchmarks.Sampling.SamplerBenchmark.Create(),
};
// "[diagram] <scenario> ..." shows the parsed values and defaults without running anything.
root.Add(new DiagramDirective());

return await CommandInvocation.InvokeAsync(root, args, Console.Out, Console.Error);
