using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Capacity;

/// <summary>
/// A server with a planner key whose clock (the app's <see cref="TimeProvider"/>, which grain timers follow too) the test
/// moves. The node reports only when asked (its timer's period is an hour), so each figure the capacity grain samples is
/// one the test made.
/// </summary>
public sealed class FakeClockPlannerServerFixture : IAsyncLifetime
{
    private TokenGridServer? _server;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero));

    public TokenGridServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _server = await TokenGridServer.StartAsync(
        new Dictionary<string, string>
        {
            ["TokenGrid:Planner:ApiKey"] = PlannerServerFixture.PlannerKey,
            ["TokenGrid:Capacity:SamplePeriod"] = "00:00:01",
            ["TokenGrid:Nodes:ReportPeriod"] = "01:00:00",
        },
        Time);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// A node that has only ever run one sequence of its batch of 32: its peak is its current rate, so throughput
/// utilization reads 100 %, yet 31 of its slots are free. The report must say the capacity is a lower bound, count the
/// free slots, and not claim 0 headroom.
/// </summary>
public sealed class LightLoadCapacityTests(FakeClockPlannerServerFixture fixture) : IClassFixture<FakeClockPlannerServerFixture>
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task ALightlyLoadedNodeIsALowerBoundWithFreeSlotsAndNoZeroHeadroom()
    {
        // One sequence, alone on the node; the clock stands still while it runs, then moves 5 s and the node reports, so
        // its 10-second rate is this run's tokens over those 5 s. The clock moves one sample period more, so the capacity
        // grain samples that report before answering: its timer's tick if it ran after the move, else the report request
        // itself, since the last sample then started a period ago (a tick still reading when the clock moved counts from
        // when it started). The rate it reads is the highest it has seen, its peak.
        using var client = Server.Client(TokenGridServer.DemoKey);
        var reply = await client.PostJsonAsync("v1/completions", new { model = TokenGridServer.Model, prompt = "One sequence alone", max_tokens = 24 });
        var generated = (await reply.ReadJsonAsync())["usage"]!["completion_tokens"]!.GetValue<long>();
        Assert.True(generated > 0);
        fixture.Time.Advance(TimeSpan.FromSeconds(5));
        await Server.RefreshNodesAsync();
        fixture.Time.Advance(TimeSpan.FromSeconds(1));

        // The rate equals the capacity (throughput utilization 1, demand = capacity): the case the old report called full.
        var node = $"{Server.SiloName}/cpu0";
        using var planner = Server.Client(PlannerServerFixture.PlannerKey);
        var report = await CapacityPoll.UntilAsync(
            () => planner.GetCapacityAsync("?tenant_tpm=600"),
            r =>
            {
                var row = Node(r, node);
                var rate = row["tokens_per_second"]!.GetValue<double>();
                return Task.FromResult(
                    rate <= 0 ? "the node's rate is not sampled yet"
                    : row["capacity_tokens_per_second"]!.GetValue<double>() != rate ? $"capacity is not the node's current rate {rate}"
                    : r["cluster"]!["running_jobs"]!.GetValue<int>() != 0 ? "the job is still counted as running"
                    : null);
            },
            TimeSpan.FromSeconds(30));
        Assert.Equal(generated / 5.0, Node(report, node)["tokens_per_second"]!.GetValue<double>(), 6);

        var nodeRow = Node(report, node);
        Assert.Equal(1.0, nodeRow["utilization"]!.GetValue<double>(), 6);
        Assert.Equal(32, nodeRow["max_batch_size"]!.GetValue<int>());
        var peakBatch = nodeRow["peak_batch_size"]!.GetValue<double>();
        Assert.Equal(1.0, peakBatch, 6);
        Assert.True(nodeRow["capacity_is_lower_bound"]!.GetValue<bool>(), "a peak at batch 1 of 32 is a lower bound");
        Assert.Equal(0, nodeRow["active_sequences"]!.GetValue<int>());
        Assert.Equal(0.0, nodeRow["slot_utilization"]!.GetValue<double>());

        // Cluster and model: a lower bound, with headroom unknown (null) rather than 0, and the free slots counted.
        var cluster = report["cluster"]!;
        Assert.True(cluster["capacity_is_lower_bound"]!.GetValue<bool>());
        Assert.Equal(cluster["capacity_tokens_per_second"]!.GetValue<double>(), cluster["demand_tokens_per_second"]!.GetValue<double>(), 6);
        Assert.Null(cluster["headroom_tokens_per_second"]);
        Assert.Null(cluster["headroom_tenants"]);
        Assert.Equal(32, cluster["slots"]!.GetValue<int>());
        Assert.Equal(0, cluster["busy_slots"]!.GetValue<int>());
        Assert.Equal(0.0, cluster["slot_utilization"]!.GetValue<double>());
        Assert.Equal(32, cluster["headroom_slots"]!.GetValue<int>());

        var model = report["models"]!.AsArray().Single(m => m!["model"]!.GetValue<string>() == TokenGridServer.Model)!;
        Assert.True(model["supply"]!["capacity_is_lower_bound"]!.GetValue<bool>());
        Assert.Null(model["headroom_tokens_per_second"]);
        Assert.Null(model["headroom_tenants"]);
        Assert.Equal(32, model["supply"]!["slots"]!.GetValue<int>());
        Assert.Equal(32, model["headroom_slots"]!.GetValue<int>());
    }

    private static JsonNode Node(JsonObject report, string nodeId) =>
        report["nodes"]!.AsArray().Single(n => n!["node_id"]!.GetValue<string>() == nodeId)!;
}
