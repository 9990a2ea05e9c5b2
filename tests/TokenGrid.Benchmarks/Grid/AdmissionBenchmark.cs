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
/// process allocated per cycle in process memory (median over rounds), unpriced and priced. In a round each side runs
/// <c>--memory-cycles</c> cycles in process memory and <c>--cycles</c> on PostgreSQL (about a second each), in slices
/// taking turns with the other side's (<c>--slices</c>).
/// Each store also runs priced tenants in the same rounds (<c>priced_vs_unpriced_admission</c>): a rate card in force for
/// their model, a spend cap, a 10% plan discount and a subsidy program paying 40% (each job's share held on a block of
/// the program's budget the tenant leases), against the unpriced tenants' admissions.
/// </summary>
/// <remarks>
/// <para>
/// The priced ratios are the median of each round's own ratio (its priced rate over the unpriced rate measured next to
/// it), so a machine that slows down or speeds up between rounds moves both sides of a ratio alike. In process memory the
/// process's CPU time per cycle is given too (<c>priced_vs_unpriced_cpu</c>, the same pairing), a figure that other work
/// on the machine moves less than the rates.
/// </para>
/// <para>
/// Both paths are warmed up for <c>--warmup</c> seconds first. Tiered compilation goes on recompiling the silo's hot
/// methods for several seconds after its first calls (on 2 cores, 5 to 15% of the CPU went to the JIT for the first 5 to
/// 6 seconds of rounds in a <c>perf</c> profile), and a round it lands in reads slow whichever side it is.
/// </para>
/// <para>
/// PostgreSQL comes from <c>--postgres CONNECTION-STRING</c> or <c>TOKENGRID_TEST_POSTGRES</c> (a role that may create
/// databases; the benchmark creates a fresh database and drops it). Without either, only the memory figures are given.
/// </para>
/// </remarks>
public static class AdmissionBenchmark
{
    private static readonly Option<int> s_rounds = BenchmarkCommand.Int("--rounds", 3, "Rounds; medians are reported (of each round's own ratio for the ratios).");
    private static readonly Option<int> s_cycles = BenchmarkCommand.Int("--cycles", 4000, "Admission cycles per round on PostgreSQL.");
    private static readonly Option<int> s_memoryCycles = BenchmarkCommand.Int(
        "--memory-cycles", 40_000, "Admission cycles (and no-op call pairs) per round in process memory (about a second; shorter rounds measure pauses, not admissions).");
    private static readonly Option<int> s_concurrency = BenchmarkCommand.Int("--concurrency", 16, "Concurrent callers.");
    private static readonly Option<int> s_warmup = BenchmarkCommand.Int("--warmup", 8, "Seconds of admissions on both paths before the first round (until tiered compilation has settled).");
    private static readonly Option<int> s_slices = BenchmarkCommand.Int("--slices", 8, "Slices per round, both sides together, alternating ABBA (a multiple of 4); each side runs its round's cycles over half of them.");
    private static readonly Option<int> s_tenants = BenchmarkCommand.Int("--tenants", 1, "Tenants the callers are spread over (caller k uses tenant k mod N).");
    private static readonly Option<string?> s_postgres = BenchmarkCommand.Postgres();

    /// <summary>The <c>admission</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "admission", "Admission (tenant check and charge) throughput on the local and the PostgreSQL tenant store.", RunAsync, s_rounds, s_cycles, s_memoryCycles, s_concurrency, s_tenants, s_warmup, s_slices, s_postgres);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var rounds = args.GetValue(s_rounds);
        var cycles = args.GetValue(s_cycles);
        var memoryCycles = args.GetValue(s_memoryCycles);
        var concurrency = args.GetValue(s_concurrency);
        var tenants = args.GetValue(s_tenants);
        var warmup = TimeSpan.FromSeconds(args.GetValue(s_warmup));
        var slices = args.GetValue(s_slices);
        if (slices <= 0 || slices % 4 != 0)
        {
            throw new BenchmarkUsageException("--slices must be a positive multiple of 4, so each side goes first as often as last.");
        }
        var server = BenchDatabase.ServerFrom(args.GetValue(s_postgres));

        using var memory = await StartAsync(11311, 31311, postgres: null);
        await using var database = server is null ? null : await BenchDatabase.CreateAsync(server, migrate: false);
        using var postgres = database is null ? null : await StartAsync(11312, 31312, database.ConnectionString);

        var memoryTenant = await CreateTenantsAsync(memory, tenants);
        var postgresTenant = postgres is null ? null : await CreateTenantsAsync(postgres, tenants);
        var memoryPriced = await CreatePricedTenantsAsync(memory, tenants);
        var postgresPriced = postgres is null ? null : await CreatePricedTenantsAsync(postgres, tenants);
        var noop = memory.Services.GetRequiredService<IGrainFactory>().GetGrain<INoopGrain>("bench");

        // Warm up every path (at least one full round each, then for --warmup seconds in all), so the rounds measure code
        // the JIT has finished optimising and, on PostgreSQL, tables with statistics rather than a fresh database.
        var warming = Stopwatch.StartNew();
        for (var pass = 0; pass == 0 || warming.Elapsed < warmup; pass++)
        {
            await AdmissionsAsync(memoryTenant, $"warm{pass}", memoryCycles, concurrency);
            await AdmissionsAsync(memoryPriced, $"warm{pass}", memoryCycles, concurrency, PricedModel);
            if (postgresTenant is not null)
            {
                await AdmissionsAsync(postgresTenant, $"warm{pass}", cycles, concurrency);
                await AdmissionsAsync(postgresPriced!, $"warm{pass}", cycles, concurrency, PricedModel);
            }
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
        var cpu = new List<double>();
        var pricedCpu = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            // Each side runs in slices, in the order ABBA ABBA ... (A going first in every other round), and a side's rate
            // is its cycles over the time its slices took: both sides see the same stretch of the machine's weather, and
            // what a slice leaves behind (garbage to collect, a heap grown by the in-memory ledger's lines) is charged to
            // both sides alike.
            var pricedFirst = round % 2 == 1;
            var memoryRound = new SidesOfRound();
            var postgresRound = new SidesOfRound();
            for (var slice = 0; slice < slices; slice++)
            {
                var priced = (slice % 4 is 0 or 3) == pricedFirst;

                // Allocated bytes and CPU time per cycle in the whole process (the other silo idles meanwhile).
                var allocated = GC.GetTotalAllocatedBytes(precise: true);
                var processor = Environment.CpuUsage.TotalTime;
                var cyclesOfSlice = 2 * memoryCycles / slices;
                var (rate, sliceLatencies) = priced
                    ? await AdmissionsAsync(memoryPriced, $"r{round}s{slice}", cyclesOfSlice, concurrency, PricedModel)
                    : await AdmissionsAsync(memoryTenant, $"r{round}s{slice}", cyclesOfSlice, concurrency);
                memoryRound.Add(priced, cyclesOfSlice, rate, GC.GetTotalAllocatedBytes(precise: true) - allocated, Environment.CpuUsage.TotalTime - processor);
                (priced ? pricedLatencies : latencies).AddRange(sliceLatencies);
            }

            for (var slice = 0; slice < slices && postgresTenant is not null; slice++)
            {
                var priced = (slice % 4 is 0 or 3) == pricedFirst;
                var cyclesOfSlice = 2 * cycles / slices;
                var (rate, sliceLatencies) = priced
                    ? await AdmissionsAsync(postgresPriced!, $"r{round}s{slice}", cyclesOfSlice, concurrency, PricedModel)
                    : await AdmissionsAsync(postgresTenant, $"r{round}s{slice}", cyclesOfSlice, concurrency);
                postgresRound.Add(priced, cyclesOfSlice, rate, 0, TimeSpan.Zero);
                if (!priced)
                {
                    postgresLatencies.AddRange(sliceLatencies);
                }
            }

            memoryRates.Add(memoryRound.Plain.Rate);
            pricedRates.Add(memoryRound.Priced.Rate);
            bytes.Add(memoryRound.Plain.BytesPerCycle);
            pricedBytes.Add(memoryRound.Priced.BytesPerCycle);
            cpu.Add(memoryRound.Plain.CpuMicrosecondsPerCycle);
            pricedCpu.Add(memoryRound.Priced.CpuMicrosecondsPerCycle);
            if (postgresTenant is not null)
            {
                postgresRates.Add(postgresRound.Plain.Rate);
                postgresPricedRates.Add(postgresRound.Priced.Rate);
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
            .Add("priced_vs_unpriced_admission", PairedRatio(pricedRates, memoryRates))
            .Add("priced_vs_unpriced_admission_of_medians", Stats.Median(pricedRates) / admissions)
            .Add("priced_vs_unpriced_round_min", Enumerable.Range(0, rounds).Min(i => pricedRates[i] / memoryRates[i]))
            .Add("priced_vs_unpriced_round_max", Enumerable.Range(0, rounds).Max(i => pricedRates[i] / memoryRates[i]))
            .Add("cpu_us_per_cycle", Stats.Median(cpu))
            .Add("priced_cpu_us_per_cycle", Stats.Median(pricedCpu))
            .Add("priced_vs_unpriced_cpu", PairedRatio(cpu, pricedCpu))
            .Add("priced_admission_p50_us", Percentile(pricedLatencies, 0.5))
            .Add("priced_admission_p99_us", Percentile(pricedLatencies, 0.99))
            .Add("bytes_per_cycle", Stats.Median(bytes))
            .Add("priced_bytes_per_cycle", Stats.Median(pricedBytes));
        if (postgresRates.Count > 0)
        {
            var postgresAdmissions = Stats.Median(postgresRates);
            report.Add("postgres_priced_admissions_per_s", Stats.Median(postgresPricedRates))
                .Add("postgres_priced_vs_unpriced_admission", PairedRatio(postgresPricedRates, postgresRates))
                .Add("postgres_priced_vs_unpriced_admission_of_medians", Stats.Median(postgresPricedRates) / postgresAdmissions);
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

    /// <summary>What one side's slices of a round added up to.</summary>
    private sealed class Side
    {
        private long _cycles;
        private double _seconds;
        private long _bytes;
        private TimeSpan _cpu;

        public double Rate => _cycles / _seconds;

        public double BytesPerCycle => _bytes / (double)_cycles;

        public double CpuMicrosecondsPerCycle => _cpu.TotalMicroseconds / _cycles;

        public void Add(int cycles, double rate, long bytes, TimeSpan cpu)
        {
            _cycles += cycles;
            _seconds += cycles / rate;
            _bytes += bytes;
            _cpu += cpu;
        }
    }

    /// <summary>Both sides of one round on one store.</summary>
    private sealed class SidesOfRound
    {
        public Side Plain { get; } = new();

        public Side Priced { get; } = new();

        public void Add(bool priced, int cycles, double rate, long bytes, TimeSpan cpu) =>
            (priced ? Priced : Plain).Add(cycles, rate, bytes, cpu);
    }

    /// <summary>The median over rounds of <paramref name="over"/>[i] / <paramref name="under"/>[i]: each round's own ratio.</summary>
    private static double PairedRatio(List<double> over, List<double> under) =>
        Stats.Median([.. over.Zip(under, (a, b) => a / b)]);

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
