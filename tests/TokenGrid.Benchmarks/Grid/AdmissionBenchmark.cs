using System.CommandLine;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using Orleans.Configuration;
using TokenGrid.Grains.Billing;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Database;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Benchmarks.Grid;

/// <summary>
/// Tenant-grain admissions against a no-op grain call, and with PostgreSQL persistence (<see cref="PostgresTenantStore"/>:
/// state, ledger lines and job ids in one statement per batch) against in-process memory, all in one run, rounds
/// interleaved. Each admission is followed by its settlement, as in production (so reservations do not pile up); the
/// baseline makes the same two calls to a no-op grain. Callers are spread over <c>--tenants</c> tenants (default 1).
/// Rates count admissions (cycles) per second; latencies are of the admission call; <c>bytes_per_cycle</c> is what the
/// process allocated per cycle in process memory (median over rounds), unpriced and priced. A round is
/// <c>--memory-cycles</c> cycles in process memory and <c>--cycles</c> on PostgreSQL, about a second each.
/// Each store also runs priced tenants in the same rounds (<c>priced_vs_unpriced_admission</c>): a rate card in force for
/// their model, a spend cap, a 10% plan discount and a subsidy program paying 40% (each job's share held on a block of
/// the program's budget the tenant leases), against the unpriced tenants' admissions.
/// </summary>
/// <remarks>
/// PostgreSQL comes from <c>--postgres CONNECTION-STRING</c> or <c>TOKENGRID_TEST_POSTGRES</c> (a role that may create
/// databases; the benchmark creates a fresh database and drops it). Without either, only the memory figures are given.
/// </remarks>
public static class AdmissionBenchmark
{
    private static readonly Option<int> s_rounds = BenchmarkCommand.Int("--rounds", 3, "Interleaved rounds; medians are reported.");
    private static readonly Option<int> s_cycles = BenchmarkCommand.Int("--cycles", 4000, "Admission cycles per round on PostgreSQL.");
    private static readonly Option<int> s_memoryCycles = BenchmarkCommand.Int(
        "--memory-cycles", 40_000, "Admission cycles (and no-op call pairs) per round in process memory (about a second; shorter rounds measure pauses, not admissions).");
    private static readonly Option<int> s_concurrency = BenchmarkCommand.Int("--concurrency", 16, "Concurrent callers.");
    private static readonly Option<int> s_tenants = BenchmarkCommand.Int("--tenants", 1, "Tenants the callers are spread over (caller k uses tenant k mod N).");
    private static readonly Option<string?> s_postgres = BenchmarkCommand.Postgres();

    /// <summary>The <c>admission</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "admission", "Admission (tenant check and charge) throughput on the local and the PostgreSQL tenant store.", RunAsync, s_rounds, s_cycles, s_memoryCycles, s_concurrency, s_tenants, s_postgres);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var rounds = args.GetValue(s_rounds);
        var cycles = args.GetValue(s_cycles);
        var memoryCycles = args.GetValue(s_memoryCycles);
        var concurrency = args.GetValue(s_concurrency);
        var tenants = args.GetValue(s_tenants);
        var server = BenchDatabase.ServerFrom(args.GetValue(s_postgres));

        using var memory = await StartAsync(11311, 31311, postgres: null);
        await using var database = server is null ? null : await BenchDatabase.CreateAsync(server, migrate: false);
        using var postgres = database is null ? null : await StartAsync(11312, 31312, database.ConnectionString);

        var memoryTenant = await CreateTenantsAsync(memory, tenants);
        var postgresTenant = postgres is null ? null : await CreateTenantsAsync(postgres, tenants);
        var memoryPriced = await CreatePricedTenantsAsync(memory, tenants);
        var postgresPriced = postgres is null ? null : await CreatePricedTenantsAsync(postgres, tenants);
        var noop = memory.Services.GetRequiredService<IGrainFactory>().GetGrain<INoopGrain>("bench");

        // Warm up every path with a full round, so the rounds measure code the JIT has optimised and, on PostgreSQL,
        // tables with statistics rather than the first seconds of a fresh database.
        await AdmissionsAsync(memoryTenant, "warm", memoryCycles, concurrency);
        await AdmissionsAsync(memoryPriced, "warm", memoryCycles, concurrency, PricedModel);
        if (postgresTenant is not null)
        {
            await AdmissionsAsync(postgresTenant, "warm", cycles, concurrency);
            await AdmissionsAsync(postgresPriced!, "warm", cycles, concurrency, PricedModel);
        }

        await NoopsAsync(noop, memoryCycles, concurrency);

        // What the PostgreSQL silo's tenant saves carried and took during the measured rounds (its own meters only).
        using var saves = postgres is null ? null : new TenantSaveListener(postgres.Services.GetRequiredService<IMeterFactory>());
        var memoryRates = new List<double>();
        var postgresRates = new List<double>();
        var noopRates = new List<double>();
        var latencies = new List<double>();
        var postgresLatencies = new List<double>();
        var pricedRates = new List<double>();
        var postgresPricedRates = new List<double>();
        var pricedLatencies = new List<double>();
        var bytes = new List<double>();
        var pricedBytes = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            // The priced and the unpriced rounds take turns going first, so what a round leaves behind (garbage to collect,
            // a heap grown by the in-memory ledger's lines) is not always charged to the same side.
            var pricedFirst = round % 2 == 1;
            for (var side = 0; side < 2; side++)
            {
                // Allocated bytes per cycle in the whole process (the other silo idles meanwhile): a figure the machine's
                // load barely moves, unlike the rates.
                var priced = (side == 0) == pricedFirst;
                var allocated = GC.GetTotalAllocatedBytes(precise: true);
                var (rate, roundLatencies) = priced
                    ? await AdmissionsAsync(memoryPriced, $"r{round}", memoryCycles, concurrency, PricedModel)
                    : await AdmissionsAsync(memoryTenant, $"r{round}", memoryCycles, concurrency);
                (priced ? pricedBytes : bytes).Add((GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)memoryCycles);
                (priced ? pricedRates : memoryRates).Add(rate);
                (priced ? pricedLatencies : latencies).AddRange(roundLatencies);
            }

            for (var side = 0; side < 2 && postgresTenant is not null; side++)
            {
                var priced = (side == 0) == pricedFirst;
                var (rate, roundLatencies) = priced
                    ? await AdmissionsAsync(postgresPriced!, $"r{round}", cycles, concurrency, PricedModel)
                    : await AdmissionsAsync(postgresTenant, $"r{round}", cycles, concurrency);
                (priced ? postgresPricedRates : postgresRates).Add(rate);
                if (!priced)
                {
                    postgresLatencies.AddRange(roundLatencies);
                }
            }

            noopRates.Add(await NoopsAsync(noop, memoryCycles, concurrency));
            Console.Error.WriteLine(
                $"round {round}: memory {memoryRates[^1]:F0} priced {pricedRates[^1]:F0}" +
                (postgresTenant is null ? "" : $"; postgres {postgresRates[^1]:F0} priced {postgresPricedRates[^1]:F0}"));
        }

        await memory.StopAsync();
        if (postgres is not null)
        {
            await postgres.StopAsync();
        }

        var admissions = Stats.Median(memoryRates);
        var noops = Stats.Median(noopRates);
        var report = new BenchmarkReport("admission")
            .Add("processors", Environment.ProcessorCount)
            .Add("rounds", rounds)
            .Add("cycles_per_round", cycles)
            .Add("memory_cycles_per_round", memoryCycles)
            .Add("concurrency", concurrency)
            .Add("tenants", tenants)
            .Add("admissions_per_s", admissions)
            .Add("noop_calls_per_s", noops)
            .Add("admission_vs_noop", admissions / noops)
            .Add("admission_p50_us", Percentile(latencies, 0.5))
            .Add("admission_p99_us", Percentile(latencies, 0.99))
            .Add("priced_admissions_per_s", Stats.Median(pricedRates))
            .Add("priced_vs_unpriced_admission", Stats.Median(pricedRates) / admissions)
            .Add("priced_admission_p50_us", Percentile(pricedLatencies, 0.5))
            .Add("priced_admission_p99_us", Percentile(pricedLatencies, 0.99))
            .Add("bytes_per_cycle", Stats.Median(bytes))
            .Add("priced_bytes_per_cycle", Stats.Median(pricedBytes));
        if (postgresRates.Count > 0)
        {
            var postgresAdmissions = Stats.Median(postgresRates);
            report.Add("postgres_priced_admissions_per_s", Stats.Median(postgresPricedRates))
                .Add("postgres_priced_vs_unpriced_admission", Stats.Median(postgresPricedRates) / postgresAdmissions);
            report.Add("postgres_admissions_per_s", postgresAdmissions)
                .Add("postgres_vs_memory_admission", postgresAdmissions / admissions)
                .Add("postgres_admission_p50_us", Percentile(postgresLatencies, 0.5))
                .Add("postgres_admission_p99_us", Percentile(postgresLatencies, 0.99))
                .Add("postgres_changes_per_save", saves!.MeanChanges)
                .Add("postgres_save_mean_us", saves.MeanMicroseconds);
        }

        return report;
    }

    /// <summary>One silo with the tenant grains: state in process memory, or everything in PostgreSQL.</summary>
    private static async Task<IHost> StartAsync(int siloPort, int gatewayPort, string? postgres)
    {
        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .ConfigureAppConfiguration(configuration => configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [$"{DatabaseOptions.SectionName}:ConnectionString"] = postgres,
                [$"{DatabaseOptions.SectionName}:MigrateOnStartup"] = "true",
            }))
            .UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(siloPort, gatewayPort);
                if (postgres is null)
                {
                    silo.AddInProcessGrainStorage();
                }
                else
                {
                    silo.AddPostgresStorage(new DatabaseOptions { ConnectionString = postgres });

                    // As the silo's hosting allows: the tenant's job recovery reminder ticks every RecoveryPeriod (10 s).
                    silo.Configure<ReminderOptions>(reminders => reminders.MinimumReminderPeriod = new JobRecoveryOptions().RecoveryPeriod);
                }
            })
            .ConfigureServices(services => services.AddTokenGridTenants().AddTokenGridBilling())
            .Build();
        await host.StartAsync();
        return host;
    }

    private static async Task<ITenantGrain[]> CreateTenantsAsync(IHost host, int count)
    {
        var tenants = new ITenantGrain[count];
        for (var i = 0; i < count; i++)
        {
            tenants[i] = await CreateTenantAsync(host, $"bench-{i}");
        }

        return tenants;
    }

    private static async Task<ITenantGrain> CreateTenantAsync(IHost host, string id)
    {
        var tenant = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITenantGrain>(id);
        await tenant.CreateAsync(new TenantSpec(id, Roomy));
        return tenant;
    }

    /// <summary>The model the priced tenants ask for: the rate card prices it, not the unpriced tenants' "demo".</summary>
    private const string PricedModel = "priced";

    /// <summary>
    /// Publishes a rate card for <see cref="PricedModel"/> (and waits until it is in force), a subsidy program paying 40%,
    /// and tenants on a 10% discount plan with a spend cap, enrolled in the program; every limit has room for the run.
    /// </summary>
    private static async Task<ITenantGrain[]> CreatePricedTenantsAsync(IHost host, int count)
    {
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var version = await grains.GetGrain<IRateCardGrain>(0).PublishAsync("USD", [
            new(PricedModel, TokenDirection.Prompt, null, new Money(150_000)),
            new(PricedModel, TokenDirection.Completion, null, new Money(600_000)),
            new(PricedModel, TokenDirection.Completion, "north", new Money(450_000))], null);
        await grains.GetGrain<ISubsidyProgramGrain>("bench-program").PutAsync(
            new SubsidyProgram("bench-program", 4_000, new Money(long.MaxValue / 8), SubsidyExhaustion.FullPrice));
        var tenants = new ITenantGrain[count];
        for (var i = 0; i < count; i++)
        {
            tenants[i] = grains.GetGrain<ITenantGrain>($"bench-priced-{i}");
            await tenants[i].CreateAsync(new TenantSpec($"bench-priced-{i}", Roomy with
            {
                SpendCap = new Money(long.MaxValue / 8),
                Plan = new TenantPlan("bench", 1_000, []),
                SubsidyProgram = "bench-program",
            }));
        }

        // Left out, effective_from is when every copy of the card handed out allows (within a lease of now).
        var wait = version.EffectiveFrom - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        return tenants;
    }

    private static TenantBudget Roomy => new()
    {
        TokensPerMinute = long.MaxValue / 4,
        RequestsPerMinute = int.MaxValue / 2,
        MaxConcurrentJobs = 100_000,
        PeriodQuota = long.MaxValue / 4,
    };

    private static double Percentile(List<double> values, double p)
    {
        values.Sort();
        return values[Math.Min(values.Count - 1, (int)(values.Count * p))];
    }

    private static async Task<(double Rate, List<double> LatenciesUs)> AdmissionsAsync(
        ITenantGrain[] tenants, string prefix, int cycles, int concurrency, string model = "demo")
    {
        var latencies = new double[cycles];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async caller =>
        {
            var tenant = tenants[caller % tenants.Length];
            int i;
            while ((i = Interlocked.Increment(ref next)) < cycles)
            {
                var job = $"{prefix}-{i}";
                var started = Stopwatch.GetTimestamp();
                var admitted = await tenant.AdmitAsync(new AdmissionRequest(job, model, 20, 44));
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

    /// <summary>
    /// Listens to <c>tokengrid.tenant.save_*</c> of the meters one silo's <see cref="IMeterFactory"/> made (the other
    /// silo in this process has its own), from construction on.
    /// </summary>
    private sealed class TenantSaveListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _saves;
        private long _changes;
        private double _seconds;

        public TenantSaveListener(IMeterFactory silo)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, silo) && instrument.Name.StartsWith("tokengrid.tenant.save_", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, changes, _, _) =>
            {
                Interlocked.Increment(ref _saves);
                Interlocked.Add(ref _changes, changes);
            });
            _listener.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
            {
                lock (_listener)
                {
                    _seconds += seconds;
                }
            });
            _listener.Start();
        }

        public double MeanChanges => (double)Interlocked.Read(ref _changes) / Math.Max(1, Interlocked.Read(ref _saves));

        public double MeanMicroseconds
        {
            get
            {
                lock (_listener)
                {
                    return _seconds * 1e6 / Math.Max(1, Interlocked.Read(ref _saves));
                }
            }
        }

        public void Dispose() => _listener.Dispose();
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
