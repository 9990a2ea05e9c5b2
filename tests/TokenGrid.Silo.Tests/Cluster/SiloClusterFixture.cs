using System.Globalization;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Database;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Cluster;

/// <summary>
/// Three real silo processes on the postgres profile in one fresh database, as scripts/cluster.sh starts them (small
/// demo model, fast failure detection, a short recovery period). The silos are killed when the class is done.
/// </summary>
public sealed class SiloClusterFixture : IAsyncLifetime
{
    public const string AdminKey = "tg-admin-cluster-0123456789abcdef";
    public const string DemoKey = "tg-demo-cluster-0123456789abcdef";
    public const string PlannerKey = "tg-planner-cluster-0123456789abcdef";

    /// <summary>The membership probe timeout the silos run with.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan s_startBound = TimeSpan.FromSeconds(60);

    public PostgresTestDatabase Database { get; private set; } = null!;

    public string ClusterId { get; } = "cluster-" + Guid.NewGuid().ToString("N")[..12];

    public List<SiloProcess> Silos { get; } = [];

    /// <summary>The settings every silo starts with.</summary>
    private Dictionary<string, string> _settings = [];

    /// <summary>Silos that died and were started again: their old processes, disposed at the end.</summary>
    private readonly List<SiloProcess> _retired = [];

    /// <summary>The silos still running.</summary>
    public IEnumerable<SiloProcess> Live => Silos.Where(s => !s.HasExited);

    /// <summary>Every silo's output, for failure messages.</summary>
    public string Logs => string.Join("\n", Silos.Select(s => $"==== {s.Name}\n{s.Log}"));

    public async Task InitializeAsync()
    {
        Database = await PostgresTestDatabase.CreateAsync();
        _settings = new Dictionary<string, string>
        {
            ["profile"] = "postgres",
            ["TokenGrid:Database:ConnectionString"] = Database.ConnectionString,
            ["TokenGrid:Database:MigrateOnStartup"] = "false",
            ["TokenGrid:Cluster:ClusterId"] = ClusterId,
            ["TokenGrid:Cluster:AdvertisedAddress"] = "127.0.0.1",
            ["TokenGrid:Cluster:Membership:ProbeTimeout"] = ProbeTimeout.ToString("c", CultureInfo.InvariantCulture),
            ["TokenGrid:Jobs:RecoveryPeriod"] = "00:00:02",

            // A model whose only silo died fails its waiting jobs within seconds, not minutes (ModelOnOneSiloTests); demo
            // is served by every silo, so no other test meets it.
            ["TokenGrid:Scheduling:UnservedModelGrace"] = "00:00:05",

            // A silo stopped with SIGTERM drains its node first: longer than .NET's 30 s, as the kubernetes profile does,
            // so that a loaded CI machine does not cut the drain the shutdown test watches.
            ["shutdownTimeoutSeconds"] = "120",

            // A subsidy reservation a dying tenant silo leaves behind is released within seconds, not minutes.
            ["TokenGrid:Subsidies:ReservationTimeout"] = "00:00:05",
            ["TokenGrid:Subsidies:RepairPeriod"] = "00:00:02",
            ["TokenGrid:Admin:ApiKey"] = AdminKey,
            ["TokenGrid:Demo:ApiKey"] = DemoKey,
            ["TokenGrid:Planner:ApiKey"] = PlannerKey,

            // The capacity view samples every second, so ModelOnOneSiloTests sees the dead silo's queue within its grace.
            ["TokenGrid:Capacity:SamplePeriod"] = "00:00:01",
            ["TokenGrid:Models:DemoSpec:Layers"] = "2",
            ["TokenGrid:Models:DemoSpec:HiddenSize"] = "64",
            ["TokenGrid:Models:DemoSpec:ContextLength"] = "1024",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Npgsql"] = "Error",
            ["Logging:LogLevel:TokenGrid"] = "Information",
            ["Logging:LogLevel:TokenGrid.Grains.Tenants"] = "Debug",
        };

        // The first silo builds the demo model (when the cache lacks it) and creates the demo tenant; then the others join.
        Silos.Add(await StartReadyAsync("silo1", LogFile("silo1")));
        Silos.AddRange(await Task.WhenAll(StartReadyAsync("silo2", LogFile("silo2")), StartReadyAsync("silo3", LogFile("silo3"))));
    }

    /// <summary>
    /// Starts <paramref name="silo"/> again (as an operator would after it died: same name and settings, new ports) and
    /// waits until it is ready, that is, has joined the cluster. The dead process's output stays in its log file.
    /// </summary>
    public async Task<SiloProcess> RestartAsync(SiloProcess silo)
    {
        silo.Kill();
        var index = Silos.IndexOf(silo);
        _retired.Add(silo);
        var restarted = await StartReadyAsync(silo.Name, LogFile($"{silo.Name}-{Silos.Count + _retired.Count - 1}"));
        Silos[index] = restarted;
        return restarted;
    }

    /// <summary>
    /// Starts one more silo named <paramref name="name"/>, with the settings of the others and <paramref name="extra"/>
    /// over them (another catalog, other models for its nodes), and waits until it is ready. It is not one of
    /// <see cref="Silos"/>; it is killed with the fixture.
    /// </summary>
    public async Task<SiloProcess> StartExtraAsync(string name, IReadOnlyDictionary<string, string> extra)
    {
        var settings = new Dictionary<string, string>(_settings);
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var silo = SiloProcess.Start(name, settings, LogFile(name));
        _retired.Add(silo);
        await silo.WaitReadyAsync(s_startBound);
        return silo;
    }

    /// <summary>
    /// Starts a silo and waits until it is ready. Its ports are free when chosen but may be taken before the silo binds
    /// them (by another test's server): then it starts again on other ports.
    /// </summary>
    private async Task<SiloProcess> StartReadyAsync(string name, string logFile)
    {
        for (var attempt = 1; ; attempt++)
        {
            var silo = SiloProcess.Start(name, _settings, logFile);
            try
            {
                await silo.WaitReadyAsync(s_startBound);
                return silo;
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await silo.DisposeAsync();
            }
            catch
            {
                await silo.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Where a silo's output is written: artifacts/cluster-tests/{cluster id}/ in the repository (else the temp folder).</summary>
    private string LogFile(string silo)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "TokenGrid.sln")))
        {
            root = root.Parent;
        }

        return Path.Combine(root?.FullName ?? Path.GetTempPath(), "artifacts", "cluster-tests", ClusterId, silo + ".log");
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in Silos.Concat(_retired))
        {
            await silo.DisposeAsync();
        }

        if (Database is not null)
        {
            await Database.DisposeAsync();
        }
    }

    /// <summary>Each live silo's count of admissions (recorded by tenant grains, so only on the silos that host them).</summary>
    public async Task<Dictionary<SiloProcess, double>> AdmissionsBySiloAsync()
    {
        var counts = new Dictionary<SiloProcess, double>();
        foreach (var silo in Live)
        {
            using var client = silo.Client(null);
            var text = await client.GetStringAsync("metrics");
            counts[silo] = text.Split('\n')
                .Where(l => l.StartsWith("tokengrid_admissions", StringComparison.Ordinal) && !l.StartsWith('#'))
                .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        }

        return counts;
    }

    /// <summary>
    /// The one silo whose admissions counter moved since <paramref name="before"/> (the silo hosting the tenant grain
    /// that admitted). A scrape may come from the exporter's short response cache, so it reads again until the
    /// admission shows, up to <paramref name="deadline"/>.
    /// </summary>
    public async Task<SiloProcess> SiloThatAdmittedAsync(Dictionary<SiloProcess, double> before, DateTime deadline)
    {
        while (true)
        {
            var after = await AdmissionsBySiloAsync();
            var moved = after.Where(kv => kv.Value > before.GetValueOrDefault(kv.Key)).Select(kv => kv.Key).ToList();
            if (moved.Count > 0)
            {
                return Assert.Single(moved);
            }

            Assert.True(DateTime.UtcNow < deadline, "No silo counted the admission.");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Creates a tenant with a budget large enough for the load; returns its id and key. Like any client it retries a
    /// 503 after its Retry-After: after a PostgreSQL restart, a silo's first use of a pooled connection the restart cut
    /// answers 503.
    /// </summary>
    public async Task<(string TenantId, string Key)> CreateTenantAsync(SiloProcess via)
    {
        using var admin = via.Client(AdminKey);
        var id = "t-" + Guid.NewGuid().ToString("N")[..12];
        var budget = new { max_concurrent_jobs = 200, tokens_per_minute = 10_000_000, requests_per_minute = 10_000 };
        await (await RetryUnavailableAsync(() => admin.PostJsonAsync("admin/tenants", new { id, budget }))).ReadJsonAsync(System.Net.HttpStatusCode.Created);
        var key = await (await RetryUnavailableAsync(() => admin.PostJsonAsync($"admin/tenants/{id}/keys", new { name = "cluster" })))
            .ReadJsonAsync(System.Net.HttpStatusCode.Created);
        return (id, key["secret"]!.GetValue<string>());
    }

    /// <summary>Sends again after each 503's Retry-After, a few times; returns the first other answer.</summary>
    private static async Task<HttpResponseMessage> RetryUnavailableAsync(Func<Task<HttpResponseMessage>> send)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await send();
            if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable || attempt == 5)
            {
                return response;
            }

            var retryAfter = response.Headers.RetryAfter?.Delta ?? throw new InvalidOperationException("A 503 without Retry-After.");
            response.Dispose();
            await Task.Delay(retryAfter);
        }
    }

    /// <summary>
    /// Each job settled once, charged its prompt plus its delivered completion tokens (the ledger says which were which;
    /// a job that failed before its prompt was processed is charged nothing), the rest refunded; no reservation stays open; and the tenant's balance, read through a survivor after its grain's silo died, is the ledger's.
    /// </summary>
    public async Task AssertLedgerBalancesAsync(string tenant, string key, IReadOnlyList<JsonObject> finals, long chargedBefore, SiloProcess via)
    {
        async Task<Dictionary<string, object[]>> SettlementsAsync() => (await Database.QueryAsync(
                "SELECT job_id, reserved_tokens, charged_tokens, refunded_tokens, settled, charged_prompt_tokens, charged_completion_tokens " +
                $"FROM tokengrid_job_settlements WHERE tenant_id = '{tenant}'"))
            .ToDictionary(r => (string)r[0]);

        var rows = await SettlementsAsync();
        foreach (var job in finals)
        {
            var id = job["id"]!.GetValue<string>();
            var charged = job["charged_tokens"]!.GetValue<long>();
            if (!rows.TryGetValue(id, out var row))
            {
                // Never reserved (its admission failed as the tenant's silo died): nothing to charge, nothing in the ledger.
                Assert.Equal(0, charged);
                Assert.Equal("failed", job["status"]!.GetValue<string>());
                continue;
            }

            Assert.True((bool)row[4], $"Job {id} is not settled.");

            // Charged its prompt and completion tokens; a job that failed before its prompt was processed, only the
            // completion's (none).
            var (prompt, completion) = (job["usage"]!["prompt_tokens"]!.GetValue<long>(), job["usage"]!["completion_tokens"]!.GetValue<long>());
            var unprocessed = job["status"]!.GetValue<string>() == "failed" && completion == 0 && charged == 0;
            Assert.True(charged == prompt + completion || unprocessed, $"Job {id} charged {charged}: {job.ToJsonString()}");
            Assert.Equal(charged, (long)row[2]);
            Assert.Equal((long)row[1], (long)row[2] + (long)row[3]);
            Assert.Equal(unprocessed ? (0L, 0L) : (prompt, completion), ((long)row[5], (long)row[6]));
        }

        Assert.Empty(await Database.QueryAsync(
            $"SELECT job_id FROM tokengrid_ledger WHERE tenant_id = '{tenant}' AND kind = 'charge' GROUP BY job_id HAVING count(*) > 1"));
        // A job admitted whose answer died with its silo is known to no client; the tenant's recovery reminder settles it
        // for 0 within a recovery period of the failover. The reservation must close: wait for it, within a bound.
        var bound = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (rows.Values.Any(r => !(bool)r[4]) && DateTime.UtcNow < bound)
        {
            await Task.Delay(100);
            rows = await SettlementsAsync();
        }

        Assert.All(rows.Values, r => Assert.True((bool)r[4], $"Job {r[0]} holds an open reservation."));

        var usage = await UsageAsync(via, key);
        Assert.Equal(0, usage["reserved"]!.GetValue<long>());
        Assert.Equal(0, usage["open_jobs"]!.GetValue<int>());
        Assert.Equal(rows.Values.Sum(r => (long)r[2]), usage["charged"]!.GetValue<long>());
        Assert.True(usage["charged"]!.GetValue<long>() > chargedBefore);

        // Every ledger line the tenant grain numbered reached the table: no hole in the sequence.
        var lines = await Database.QueryAsync($"SELECT count(*), coalesce(max(sequence), 0) FROM tokengrid_ledger WHERE tenant_id = '{tenant}'");
        Assert.Equal((long)lines[0][1], (long)lines[0][0]);
    }

    public static async Task<JsonObject> UsageAsync(SiloProcess silo, string key)
    {
        using var client = silo.Client(key);
        return await (await client.GetAsync("v1/usage")).ReadJsonAsync();
    }

    /// <summary>
    /// A job as a live silo (or <paramref name="via"/>) shows it; null while a failing silo makes the API answer 503
    /// (with Retry-After).
    /// </summary>
    public async Task<JsonObject?> JobAsync(string key, string jobId, SiloProcess? via = null)
    {
        using var client = (via ?? Live.First()).Client(key);
        using var response = await client.GetAsync($"v1/jobs/{jobId}");
        if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable)
        {
            ClusterClient.AssertRetryAfter(response, await response.AssertProblemAsync(System.Net.HttpStatusCode.ServiceUnavailable));
            return null;
        }

        return await response.ReadJsonAsync();
    }
}

/// <summary>The real-process cluster tests run alone: they measure failure detection, which other tests' load would blur.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SiloClusterCollection : ICollectionFixture<SiloClusterFixture>
{
    public const string Name = "SiloCluster";
}
