using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using TokenGrid.Inference.Sampling;

namespace TokenGrid.Benchmarks.Sampling;

/// <summary>
/// <c>sampler</c>: microseconds per row of <see cref="TokenSampler"/> on one thread, over rows the size of the demo
/// model's vocabulary (100,277 logits drawn from N(0, 3)), for temperature 1 and for top-k of 50 to 1,000 (with and
/// without top-p, and a model's top-k defaults). Settings take turns within each round; each figure is the best round's
/// mean, and <c>sampler_top_k_K_vs_temperature</c> is that setting's time over temperature 1's (1: as cheap). On Linux
/// the times are the thread's own CPU time (<c>CLOCK_THREAD_CPUTIME_ID</c>), so that a machine shared with other work
/// does not count the time the thread waited for a core; elsewhere, wall time. Options: <c>--rounds N</c> (default 9),
/// <c>--draws N</c> per setting and round (default 320, over 32 rows).
/// </summary>
public static class SamplerBenchmark
{
    private const int Vocabulary = 100_277;
    private const int Rows = 32;

    private static readonly Option<int> s_rounds = BenchmarkCommand.Int("--rounds", 9, "Rounds; each setting's best is reported.");
    private static readonly Option<int> s_draws = BenchmarkCommand.Int("--draws", 320, "Draws per setting and round.");

    private static readonly (string Key, SamplingOptions Options)[] s_settings =
    [
        ("temperature", new SamplingOptions { Temperature = 1f }),
        ("top_k_50", new SamplingOptions { Temperature = 1f, TopK = 50 }),
        ("top_k_200", new SamplingOptions { Temperature = 1f, TopK = 200 }),
        ("top_k_300", new SamplingOptions { Temperature = 1f, TopK = 300 }),
        ("top_k_500", new SamplingOptions { Temperature = 1f, TopK = 500 }),
        ("top_k_1000", new SamplingOptions { Temperature = 1f, TopK = 1000 }),
        ("top_k_300_top_p", new SamplingOptions { Temperature = 1f, TopK = 300, TopP = 0.9f }),
        ("top_k_1000_top_p", new SamplingOptions { Temperature = 1f, TopK = 1000, TopP = 0.9f }),
        ("qwen_defaults", new SamplingOptions { Temperature = 0.7f, TopK = 20, TopP = 0.8f }),
    ];

    /// <summary>The <c>sampler</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "sampler", "Microseconds per row of the sampler for temperature 1 and top-k, over the demo model's vocabulary.", RunAsync, s_rounds, s_draws);

    public static Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var rounds = args.GetValue(s_rounds);
        var draws = args.GetValue(s_draws);
        if (rounds <= 0 || draws <= 0)
        {
            throw new BenchmarkUsageException("--rounds and --draws must be at least 1.");
        }

        var random = new Random(17);
        var rows = Enumerable.Range(0, Rows).Select(_ => Enumerable.Range(0, Vocabulary).Select(_ => Normal(random) * 3f).ToArray()).ToArray();
        var scratch = new SamplerScratch(Vocabulary);
        var best = new double[s_settings.Length];
        Array.Fill(best, double.MaxValue);

        // One unmeasured round first: the JIT's tiers settle before anything is timed.
        for (var round = -1; round < rounds; round++)
        {
            for (var s = 0; s < s_settings.Length; s++)
            {
                var sampler = new TokenSampler(s_settings[s].Options with { Seed = (ulong)(round + 2) });
                var started = Now();
                for (var d = 0; d < draws; d++)
                {
                    sampler.Sample(rows[d % Rows], scratch);
                }

                if (round >= 0)
                {
                    best[s] = Math.Min(best[s], (Now() - started) / draws);
                }
            }
        }

        var report = new BenchmarkReport("sampler").Add("vocabulary", Vocabulary).Add("rounds", rounds).Add("draws", draws)
            .Add("clock", OperatingSystem.IsLinux() ? "thread_cpu" : "wall");
        for (var s = 0; s < s_settings.Length; s++)
        {
            report.Add($"sampler_us_{s_settings[s].Key}", best[s]);
        }

        for (var s = 1; s < s_settings.Length; s++)
        {
            report.Add($"sampler_{s_settings[s].Key}_vs_temperature", best[s] / best[0]);
        }

        return Task.FromResult(report);
    }

    /// <summary>Microseconds of the thread's CPU time on Linux, else of wall time.</summary>
    private static double Now()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(ThreadCpuClock, out var time) == 0)
        {
            return (time.Seconds * 1e6) + (time.Nanoseconds / 1e3);
        }

        return Stopwatch.GetTimestamp() * 1e6 / Stopwatch.Frequency;
    }

    private const int ThreadCpuClock = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private static float Normal(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
}
