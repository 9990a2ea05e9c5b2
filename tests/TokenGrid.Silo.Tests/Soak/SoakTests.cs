using TokenGrid.Silo.Tests.Cluster;

namespace TokenGrid.Silo.Tests.Soak;

/// <summary>
/// The short soak that CI runs (the <c>soak</c> benchmark is the long one): a real silo process on the local profile under
/// a steady stream of default chat requests, half of them streamed. Finished jobs must leave memory once their re-attach
/// grace has passed, so the live job activations stay near rate × (grace + collection quantum) instead of growing with
/// every request; and every request is answered.
/// </summary>
[Trait("Category", "Soak")]
public sealed class SoakTests
{
    private const string AdminKey = "tg-soak-admin-0123456789abcdef";
    private const string Key = "tg-soak-demo-0123456789abcdef";
    private const double Rate = 8;
    private static readonly TimeSpan s_grace = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan s_duration = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Live_jobs_stay_bounded_by_the_reattach_grace_under_a_steady_rate()
    {
        var settings = SoakRun.SiloSettings("local", AdminKey, Key, s_grace);
        settings["TokenGrid:Nodes:IntraOpThreads"] = "1";
        await using var silo = SiloProcess.Start("soak1", settings);
        await silo.WaitReadyAsync(TimeSpan.FromMinutes(3));

        var result = await SoakRun.RunAsync(silo, Key, Rate, s_duration, maxTokens: 16, sampleEvery: TimeSpan.FromSeconds(5));

        Assert.True(result.Errors.Count == 0, $"{result.Errors.Count} of {result.Requests.Count} requests failed, e.g. {result.Errors.FirstOrDefault().Error}");
        Assert.Equal((int)(Rate * s_duration.TotalSeconds), result.Requests.Count);

        // Every request has been answered; the jobs of the last grace + quantum (plus the scheduler's slack) may still be
        // live. Kept for the default collection age (15 minutes), all of them would be.
        var bound = Rate * (s_grace + (s_grace / 2) + TimeSpan.FromSeconds(8)).TotalSeconds;
        var peak = result.Samples.Max(s => s.JobActivations);
        Assert.True(peak <= bound,
            $"Up to {peak} job activations were live at {Rate} requests/s with a {s_grace.TotalSeconds} s grace (bound {bound}); "
            + $"samples: {string.Join(", ", result.Samples.Select(s => $"{s.At.TotalSeconds:0}s={s.JobActivations}"))}.");
        Assert.True(result.Requests.Count > 2 * bound, "The run must be long enough for the bound to be below the number of requests.");
    }
}
