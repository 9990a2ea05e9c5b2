using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Silo.Tests.Billing;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Cluster;

public sealed partial class ClusterFailoverTests
{
    private const int SubsidyShareBps = 4000;

    /// <summary>
    /// Money settles exactly once through a silo kill: a priced, subsidised tenant's load runs through every silo, and
    /// the silo hosting the tenant's grain is killed outright (<c>kill -9</c>) mid-load. Once the survivors recovered,
    /// every job the tenant admitted has exactly one charge line, the tenant's spend is the sum of its charge lines, the
    /// program's spent is the sum of the subsidy on them, and nothing (tokens or money) stays reserved. Runs last: it
    /// publishes the cluster's rate card.
    /// </summary>
    [Fact]
    public async Task Cluster_5_a_silo_killed_under_priced_subsidised_load_settles_money_exactly_once()
    {
        // A failure bound, not a wait: this test also restarts the silo the previous one killed, publishes the card and
        // waits for it to take effect, and then lives through a kill of its own, so it gets two of the others' bounds.
        var deadline = DateTime.UtcNow + 2 * s_bound;
        foreach (var dead in cluster.Silos.Where(s => s.HasExited).ToList())
        {
            await cluster.RestartAsync(dead);
        }

        using var admin = cluster.Silos[0].Client(SiloClusterFixture.AdminKey);
        await PublishRateCardAsync(admin, deadline);
        var program = "program-" + Guid.NewGuid().ToString("N")[..12];
        await (await admin.PutAsJsonAsync($"admin/subsidies/{program}", new
        {
            share_bps = SubsidyShareBps, budget_per_period = "1000", on_exhausted = "full_price",
        })).ReadJsonAsync();
        var tenant = "t-" + Guid.NewGuid().ToString("N")[..12];
        var budget = new { max_concurrent_jobs = 200, tokens_per_minute = 10_000_000, requests_per_minute = 10_000, spend_cap = "1000", subsidy_program = program };
        await (await admin.PostJsonAsync("admin/tenants", new { id = tenant, budget })).ReadJsonAsync(HttpStatusCode.Created);
        var key = (await (await admin.PostJsonAsync($"admin/tenants/{tenant}/keys", new { name = "money" })).ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();

        // The silo that dies is the one hosting the tenant's grain (its admissions counter moves there): the grain that
        // reserves and settles the money dies with it, mid-load.
        var before = await cluster.AdmissionsBySiloAsync();
        var (firstJob, _) = await ClusterClient.CompleteAsync(cluster.Silos[0], key, maxTokens: 8);
        var victim = await cluster.SiloThatAdmittedAsync(before, deadline);
        var survivors = cluster.Silos.Where(s => s != victim).ToList();

        var load = new ChaosLoad(cluster, key, deadline);
        var clients = Enumerable.Range(0, 6).Select(load.RunClientAsync).ToList();
        await load.WithinAsync(load.AcceptedBeyondAsync(12), s_bound, "More accepted jobs");

        // The load's jobs are short; longer ones, one through each silo, are surely generating when the kill comes.
        var running = new List<string>();
        foreach (var silo in cluster.Silos)
        {
            var (status, jobId) = await ClusterClient.TrySubmitAsync(silo, key, maxTokens: 200);
            running.Add(jobId ?? throw new InvalidOperationException($"A long job was refused with {status} before any failure."));
        }

        await WaitUntilAsync(async () => (await Task.WhenAll(running.Select(j => cluster.JobAsync(key, j)))).Any(j =>
            j?["finished_at"] is null && j?["usage"]?["completion_tokens"]?.GetValue<int>() > 0), deadline);
        var killedAt = DateTimeOffset.UtcNow;
        victim.Kill();
        await load.WithinAsync(load.AcceptedBeyondAsync(load.Accepted + 12), s_bound, "More accepted jobs");
        load.Stop();
        await load.WithinAsync(Task.WhenAll(clients), s_bound, "Stopping the clients");
        Assert.True(load.Unexpected.IsEmpty, $"Unexpected answers:\n{string.Join('\n', load.Unexpected)}\n{cluster.Logs}");

        var finals = await Task.WhenAll(load.JobIds.Prepend(firstJob).Concat(running).Select(j => ClusterClient.WaitFinishedAsync(cluster, key, j, deadline)));
        await cluster.AssertLedgerBalancesAsync(tenant, key, finals, chargedBefore: 0, survivors[0]);

        // Settled: the program was told every subsidy (a tenant that died before telling it tells it on its recovery
        // tick) and a reservation whose admission died unsaved was released by its leak repair.
        using var reader = survivors[0].Client(SiloClusterFixture.AdminKey);
        var (spent, reserved) = await SubsidyProgramAsync(reader, program);
        while (reserved > Money.Zero)
        {
            Assert.True(DateTime.UtcNow < deadline, $"Subsidy program {program} still holds {reserved}.\n{cluster.Logs}");
            await Task.Delay(100);
            (spent, reserved) = await SubsidyProgramAsync(reader, program);
        }

        // Every job the tenant reserved for (known to the client or not) has exactly one charge line, priced.
        var ledger = await reader.LedgerAsync(tenant);
        var charges = ledger.Where(l => l["kind"]!.GetValue<string>() == "charge").ToList();
        var reservedJobs = ledger.Where(l => l["kind"]!.GetValue<string>() == "reserve").Select(l => l["job_id"]!.GetValue<string>()).ToList();
        Assert.Equal(reservedJobs.Order(StringComparer.Ordinal), charges.Select(c => c["job_id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Subset(reservedJobs.ToHashSet(), finals.Where(j => j["status"]!.GetValue<string>() == "succeeded").Select(j => j["id"]!.GetValue<string>()).ToHashSet());

        // Money was in flight through the kill: some job was reserved for before it and charged after it.
        var reservedAt = ledger.Where(l => l["kind"]!.GetValue<string>() == "reserve").ToDictionary(l => l["job_id"]!.GetValue<string>(), l => l["at"]!.GetValue<DateTimeOffset>());
        Assert.Contains(charges, c => reservedAt[c["job_id"]!.GetValue<string>()] < killedAt && c["at"]!.GetValue<DateTimeOffset>() > killedAt);

        long tenantSpend = 0, subsidised = 0;
        foreach (var charge in charges)
        {
            var lines = charge["priced"]?["lines"]?.AsArray().Select(l => l!.AsObject()).ToList() ?? [];
            Assert.True(lines.Count > 0 || charge["tokens"]!.GetValue<long>() == 0, $"An unpriced charge: {charge.ToJsonString()}");
            Assert.All(lines, l => Assert.Equal(ParseMoney(l["list"]), ParseMoney(l["discount"]) + ParseMoney(l["subsidy"]) + ParseMoney(l["tenant"])));
            Assert.Equal(lines.Sum(l => ParseMoney(l["tenant"]).Micros), charge["spend_micros"]!.GetValue<long>());
            tenantSpend += charge["spend_micros"]!.GetValue<long>();
            subsidised += lines.Sum(l => ParseMoney(l["subsidy"]).Micros);
        }

        Assert.True(subsidised > 0);
        Assert.Equal((tenantSpend, 0L), (ledger[^1]["spend_charged_after"]!.GetValue<long>(), ledger[^1]["spend_reserved_after"]!.GetValue<long>()));
        Assert.Equal((subsidised, 0L), (spent.Micros, reserved.Micros));
        Console.WriteLine($"Money through a kill of {victim.Name}: {charges.Count} charges, tenant {new Money(tenantSpend)}, program {spent}.");
    }

    /// <summary>Publishes the demo model's prices (now) and waits until a silo shows them in force.</summary>
    private static async Task PublishRateCardAsync(HttpClient admin, DateTime deadline)
    {
        await (await admin.PutAsJsonAsync("admin/prices", new
        {
            currency = "USD",
            prices = new object[]
            {
                new { model = "demo", direction = "prompt", per_million = "1.00" },
                new { model = "demo", direction = "completion", per_million = "2.00" },
            },
        })).ReadJsonAsync();
        while (!(await (await admin.GetAsync("admin/prices")).ReadJsonAsync())["data"]!.AsArray()[^1]!["in_force"]!.GetValue<bool>())
        {
            Assert.True(DateTime.UtcNow < deadline, "The rate card did not come into force.");
            await Task.Delay(100);
        }
    }

    private static async Task<(Money Spent, Money Reserved)> SubsidyProgramAsync(HttpClient admin, string program)
    {
        var shown = await (await admin.GetAsync($"admin/subsidies/{program}")).ReadJsonAsync();
        return (ParseMoney(shown["spent"]), ParseMoney(shown["reserved"]));
    }

    private static Money ParseMoney(JsonNode? amount) =>
        Money.TryParse(amount!.GetValue<string>(), out var money) ? money : throw new FormatException(amount.ToJsonString());
}
