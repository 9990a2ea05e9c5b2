using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Benchmarks.Grid;

/// <summary>
/// Tenant-grain admissions against a no-op grain call, in one silo, side by side. Each admission is followed by
/// its settlement, as in production (so reservations do not pile up); the baseline makes the same two calls to
/// a no-op grain. Rates count admissions (cycles) per second; latencies are of the admission call alone.
/// </summary>
public static class AdmissionBenchmark
{
    public static async Task<BenchmarkReport> RunAsync(BenchmarkArgs args)
    {
        var rounds = args.Int("rounds", 3);
        var cycles = args.Int("cycles", 4000);
        var concurrency = args.Int("concurrency", 16);
        using var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .UseOrleans(silo => silo.UseLocalhostClustering(siloPort: 11311, gatewayPort: 31311).AddInProcessGrainStorage())
            .ConfigureServices(services => services.AddTokenGridTenants())
            .Build();
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var tenant = grains.GetGrain<ITenantGrain>("bench");
        await tenant.CreateAsync(new TenantSpec("bench", new TenantBudget
        {
            TokensPerMinute = long.MaxValue / 4,
            RequestsPerMinute = int.MaxValue / 2,
            MaxConcurrentJobs = 100_000,
            PeriodQuota = long.MaxValue / 4,
        }));
        var noop = grains.GetGrain<INoopGrain>("bench");

        // Warm up both paths.
        await AdmissionsAsync(tenant, "warm", 500, concurrency);
        await NoopsAsync(noop, 500, concurrency);

        var admissionRates = new List<double>();
        var noopRates = new List<double>();
        var latencies = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var (rate, roundLatencies) = await AdmissionsAsync(tenant, $"r{round}", cycles, concurrency);
            admissionRates.Add(rate);
            latencies.AddRange(roundLatencies);
            noopRates.Add(await NoopsAsync(noop, cycles, concurrency));
        }

        await host.StopAsync();
        latencies.Sort();
        var admissions = Stats.Median(admissionRates);
        var noops = Stats.Median(noopRates);
        return new BenchmarkReport("admission")
            .Add("processors", Environment.ProcessorCount)
            .Add("rounds", rounds)
            .Add("cycles_per_round", cycles)
            .Add("concurrency", concurrency)
            .Add("admissions_per_s", admissions)
            .Add("noop_calls_per_s", noops)
            .Add("admission_vs_noop", admissions / noops)
            .Add("admission_p50_us", latencies[latencies.Count / 2])
            .Add("admission_p99_us", latencies[(int)(latencies.Count * 0.99)]);
    }

    private static async Task<(double Rate, List<double> LatenciesUs)> AdmissionsAsync(ITenantGrain tenant, string prefix, int cycles, int concurrency)
    {
        var latencies = new double[cycles];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < cycles)
            {
                var job = $"{prefix}-{i}";
                var started = Stopwatch.GetTimestamp();
                var admitted = await tenant.AdmitAsync(new AdmissionRequest(job, "demo", 20, 44));
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
                if (!admitted.Admitted)
                {
                    throw new InvalidOperationException($"The benchmark tenant rejected a job: {admitted.Message}");
                }

                await tenant.SettleAsync(new SettlementRequest(job, 20, 30, JobOutcome.Completed));
            }
        }));
        return (cycles / clock.Elapsed.TotalSeconds, [.. latencies]);
    }

    private static async Task<double> NoopsAsync(INoopGrain noop, int cycles, int concurrency)
    {
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < cycles)
            {
                await noop.PingAsync(i);
                await noop.PingAsync(i);
            }
        }));
        return cycles / clock.Elapsed.TotalSeconds;
    }
}
