using System.Net;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Capacity;

/// <summary>
/// A node of one slot, held by a long job, with jobs queued behind it: a backlog. Headroom is 0 however the queue moves
/// (a cancelled queued job shrinks it, which used to drive demand to 0 and headroom up to the whole capacity), and demand
/// counts the queued tokens, also when every node drains and nothing is generated.
/// </summary>
public sealed class BacklogCapacityTests : IAsyncLifetime
{
    private TokenGridServer? _server;

    private TokenGridServer Server => _server!;

    /// <summary>One slot, a context long enough to hold it for many seconds, and a sample every second.</summary>
    public async Task InitializeAsync() => _server = await TokenGridServer.StartAsync(new Dictionary<string, string>
    {
        ["TokenGrid:Planner:ApiKey"] = PlannerServerFixture.PlannerKey,
        ["TokenGrid:Capacity:SamplePeriod"] = "00:00:01",
        ["TokenGrid:Nodes:Engine:MaxBatchSize"] = "1",
        ["TokenGrid:Models:DemoSpec:ContextLength"] = "32768",
    });

    public async Task DisposeAsync() => await Server.DisposeAsync();

    [Fact]
    public async Task With_jobs_waiting_for_a_slot_headroom_is_0_and_demand_counts_the_queue()
    {
        using var tenant = Server.Client(TokenGridServer.DemoKey);
        using var planner = Server.Client(PlannerServerFixture.PlannerKey);
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var holder = await SubmitAsync(tenant, "Hold the only slot", 32000);
        await CapacityPoll.UntilAsync(() => planner.GetCapacityAsync(), r => Task.FromResult(
            Model(r)["demand"]!["running_jobs"]!.GetValue<int>() != 1 ? "the holder is not running yet" : null), TimeSpan.FromSeconds(30));
        var cancelled = await SubmitAsync(tenant, "Wait, then leave", 4000);
        var waiting = await SubmitAsync(tenant, "Wait for the slot", 100);

        // Both wait behind the holder, and the node's capacity is measured at its full batch of 1. Then a whole demand
        // window (10 s) passes with the queue standing, so its growth while the jobs arrived has left the window.
        var queued = await CapacityPoll.UntilAsync(() => planner.GetCapacityAsync(), r => Task.FromResult(
            Model(r)["demand"]!["queued_jobs"]!.GetValue<int>() != 2 ? "the two jobs are not queued yet"
            : Model(r)["supply"]!["capacity_tokens_per_second"]!.GetValue<double>() <= 0 ? "no capacity measured yet"
            : Model(r)["supply"]!["capacity_is_lower_bound"]!.GetValue<bool>() ? "the capacity is a lower bound"
            : null), TimeSpan.FromSeconds(30));
        var standing = await CapacityPoll.UntilAsync(() => planner.GetCapacityAsync(), r => Task.FromResult(
            GeneratedAt(r) < GeneratedAt(queued).AddSeconds(12) ? "the queue has not stood for a demand window yet" : null), TimeSpan.FromSeconds(30));
        Assert.Equal(2, Model(standing)["demand"]!["queued_jobs"]!.GetValue<int>());
        Assert.Equal(1, Model(standing)["demand"]!["running_jobs"]!.GetValue<int>());

        // Cancelling a queued job shrinks the queue by 4,000 tokens within the demand window: the slot is still held and a
        // job still waits for it, so there is no headroom, and demand is at least what is served plus the queue.
        Assert.Equal(HttpStatusCode.OK, (await tenant.PostAsync($"v1/jobs/{cancelled}/cancel", null)).StatusCode);
        var shrunk = await CapacityPoll.UntilAsync(() => planner.GetCapacityAsync(), r => Task.FromResult(
            Model(r)["demand"]!["queued_jobs"]!.GetValue<int>() != 1 ? "the cancelled job is still queued" : null), TimeSpan.FromSeconds(30));
        AssertBacklog(shrunk, "a shrinking queue behind a held slot");
        Assert.Equal(0, Model(shrunk)["headroom_slots"]!.GetValue<int>());

        // Every node draining, nothing generating: the queued job is still asked of the model.
        var node = $"admin/nodes/{Server.SiloName}/cpu0";
        Assert.True((await admin.PostAsync($"{node}/drain", null)).IsSuccessStatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tenant.PostAsync($"v1/jobs/{holder}/cancel", null)).StatusCode);
        var stalled = await CapacityPoll.UntilAsync(() => planner.GetCapacityAsync(), r => Task.FromResult(
            Model(r)["supply"]!["tokens_per_second"]!.GetValue<double>() != 0 ? "the node's 10-second rate is not 0 yet"
            : Model(r)["demand"]!["queued_jobs"]!.GetValue<int>() != 1 ? "the waiting job is not queued" : null), TimeSpan.FromSeconds(40));
        AssertBacklog(stalled, "a queue nothing drains");
        Assert.Equal(0, stalled["cluster"]!["accepting_nodes"]!.GetValue<int>());

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"{node}/resume", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tenant.PostAsync($"v1/jobs/{waiting}/cancel", null)).StatusCode);
    }

    /// <summary>Headroom 0 for the model and the cluster, and demand of at least the rate served plus the queued tokens over 10 s.</summary>
    private static void AssertBacklog(JsonObject report, string what)
    {
        var model = Model(report);
        var queuedTokens = model["demand"]!["queued_tokens"]!.GetValue<long>();
        var served = model["supply"]!["tokens_per_second"]!.GetValue<double>();
        var requested = model["demand"]!["requested_tokens_per_second"]!.GetValue<double>();
        Assert.True(queuedTokens > 0, what);
        Assert.True(requested >= served + (queuedTokens / 10.0) - 1e-6, $"{what}: demand {requested}, served {served}, queued tokens {queuedTokens}\n{report}");
        Assert.True(report["cluster"]!["demand_tokens_per_second"]!.GetValue<double>() >= requested - 1e-6, what);
        foreach (var figures in new[] { model, report["cluster"]! })
        {
            Assert.True(figures["headroom_tokens_per_second"]?.GetValue<double>() == 0, $"{what}: headroom {figures["headroom_tokens_per_second"]}\n{report}");
            Assert.True(figures["headroom_tenants"]?.GetValue<long>() == 0, $"{what}: headroom tenants {figures["headroom_tenants"]}");
            Assert.Equal(0, figures["headroom_slots"]!.GetValue<int>());
        }
    }

    private static async Task<string> SubmitAsync(HttpClient tenant, string prompt, int maxTokens) =>
        (await (await tenant.PostJsonAsync("v1/jobs", new { model = TokenGridServer.Model, prompt, max_tokens = maxTokens, ignore_eos = true }))
            .ReadJsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>();

    private static DateTimeOffset GeneratedAt(JsonObject report) => report["generated_at"]!.GetValue<DateTimeOffset>();

    private static JsonObject Model(JsonObject report) =>
        report["models"]!.AsArray().Single(m => m!["model"]!.GetValue<string>() == TokenGridServer.Model)!.AsObject();
}
