using System.Net;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Cluster;

/// <summary>
/// A mixed fleet: one more silo serves a model, <c>solo</c>, that the three others have no entry for. A request for it on
/// another silo is 404, saying which silo serves it; when that silo dies, its jobs fail within the unserved-model grace
/// (5 s here) with the reason, charged for what they produced, instead of waiting, queued, until their 10-minute timeout.
/// Meanwhile the capacity view keeps the model's row (no nodes, its queued jobs, how long it has been unserved), though
/// no live node advertises it and no live silo's catalog has it.
/// </summary>
[Collection(SiloClusterCollection.Name)]
public sealed class ModelOnOneSiloTests(SiloClusterFixture cluster)
{
    private const string Model = "solo";
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Jobs_of_a_model_whose_only_silo_died_fail_after_the_grace_and_other_silos_name_it_in_their_404()
    {
        var deadline = DateTime.UtcNow + s_bound;
        var via = cluster.Live.First();

        // Starting the fourth silo is most of this test's time (its log file stamps each line): the tenant is made on a
        // silo of the fixture meanwhile, as neither needs the other.
        var started = DateTime.UtcNow;
        var tenantMade = cluster.CreateTenantAsync(via);
        var solo = await cluster.StartExtraAsync("silo-solo", new Dictionary<string, string>
        {
            ["TokenGrid:Models:Entries:0:Name"] = "demo",
            ["TokenGrid:Models:Entries:1:Name"] = Model,
            ["TokenGrid:Models:Entries:1:Directory"] = "demo",
            ["TokenGrid:Nodes:Models:0"] = Model,
        });
        Console.WriteLine($"The fourth silo was ready {(DateTime.UtcNow - started).TotalSeconds:F1} s after it was started.");
        var (tenant, key) = await tenantMade;

        // A silo without the entry says that another serves the model (once its node has reported).
        var notFound = await NotFoundAsync(via, key, detail => detail.Contains("silo-solo", StringComparison.Ordinal), deadline);
        Assert.Contains($"The model '{Model}' is not in the catalog of silo '{via.Name}'", notFound, StringComparison.Ordinal);

        // Three jobs run on the only node serving the model, then its silo dies.
        var jobs = new List<string>();
        using (var client = solo.Client(key))
        {
            for (var i = 0; i < 3; i++)
            {
                var body = new { model = Model, prompt = ClusterClient.Prompt, max_tokens = 1000, temperature = 0, ignore_eos = true };
                jobs.Add((await (await client.PostJsonAsync("v1/jobs", body)).ReadJsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>());
            }
        }

        foreach (var job in jobs)
        {
            while ((await cluster.JobAsync(key, job, via))?["usage"]?["completion_tokens"]?.GetValue<int>() is null or 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"Job {job} produced nothing in time.\n{cluster.Logs}");
                await Task.Delay(50);
            }
        }

        solo.Kill();
        var killed = DateTime.UtcNow;
        var ending = Task.WhenAll(jobs.Select(j => ClusterClient.WaitFinishedAsync(cluster, key, j, killed + s_bound)));
        var row = await UnservedRowAsync(via, ending, killed + s_bound);
        var finals = await ending;
        var took = DateTime.UtcNow - killed;

        Assert.True(row is not null, $"The capacity view never listed '{Model}' with its queued jobs while they waited.\n{cluster.Logs}");
        Assert.Equal(0, row["supply"]!["nodes"]!.GetValue<int>());
        Assert.InRange(row["demand"]!["queued_jobs"]!.GetValue<int>(), 1, jobs.Count);
        Assert.True(row["demand"]!["queued_tokens"]!.GetValue<long>() >= 1000, row.ToJsonString());
        Assert.InRange(row["demand"]!["unserved_seconds"]!.GetValue<double>(), 0, s_bound.TotalSeconds);

        foreach (var job in finals)
        {
            Assert.True(job["status"]!.GetValue<string>() == "failed", $"Job {job["id"]} ended {job["status"]}: {job["error"]}.");
            Assert.Contains($"No node serves model '{Model}'", job["error"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.InRange(job["usage"]!["completion_tokens"]!.GetValue<int>(), 1, 999);
        }

        // Well before the 10-minute job timeout: the grace, the failure detection and a recovery period.
        Assert.True(took < TimeSpan.FromSeconds(45), $"The jobs took {took} to end.");
        Console.WriteLine($"Jobs of '{Model}' ended failed {took.TotalSeconds:F1} s after its silo was killed.");
        await cluster.AssertLedgerBalancesAsync(tenant, key, finals, chargedBefore: 0, via);
    }

    /// <summary>
    /// Reads <paramref name="silo"/>'s capacity view until the model's row shows queued jobs and no nodes, or the jobs have
    /// ended (<paramref name="ending"/>); the row, or null.
    /// </summary>
    private static async Task<JsonNode?> UnservedRowAsync(SiloProcess silo, Task ending, DateTime deadline)
    {
        using var client = silo.Client(SiloClusterFixture.PlannerKey);
        while (!ending.IsCompleted && DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync("v1/capacity");
            if (response.IsSuccessStatusCode)
            {
                var row = (await response.ReadJsonAsync())["models"]!.AsArray()
                    .FirstOrDefault(m => m!["model"]!.GetValue<string>() == Model);
                if (row?["demand"]?["queued_jobs"]?.GetValue<int>() > 0 && row["supply"]!["nodes"]!.GetValue<int>() == 0)
                {
                    return row;
                }
            }

            await Task.Delay(100);
        }

        return null;
    }

    /// <summary>Asks <paramref name="silo"/> for the model until its 404's detail satisfies <paramref name="wanted"/>; the detail.</summary>
    private static async Task<string> NotFoundAsync(SiloProcess silo, string key, Func<string, bool> wanted, DateTime deadline)
    {
        using var client = silo.Client(key);
        while (true)
        {
            using var response = await client.PostJsonAsync("v1/completions", new { model = Model, prompt = "Hi", max_tokens = 2 });
            var problem = await response.AssertProblemAsync(HttpStatusCode.NotFound);
            var detail = problem["detail"]!.GetValue<string>();
            Assert.Equal("model_not_found", problem["error"]!["code"]!.GetValue<string>());
            if (wanted(detail))
            {
                return detail;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The 404 never named the silo serving the model: {detail}");
            await Task.Delay(100);
        }
    }
}
