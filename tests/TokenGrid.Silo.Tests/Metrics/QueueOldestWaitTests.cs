using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Metrics;

/// <summary>
/// A queue that nothing is taken from (its only slot held) shows in <c>tokengrid_request_queue_oldest_wait_seconds</c>: the queue time
/// histogram is observed only when a request is placed on a node, so it stays flat exactly then.
/// </summary>
public sealed partial class QueueOldestWaitTests : IAsyncLifetime
{
    private TokenGridServer? _server;

    private TokenGridServer Server => _server!;

    /// <summary>One slot, and room in the context for a job that holds it for seconds.</summary>
    public async Task InitializeAsync() => _server = await TokenGridServer.StartAsync(new Dictionary<string, string>
    {
        ["TokenGrid:Nodes:Engine:MaxBatchSize"] = "1",
        ["TokenGrid:Models:DemoSpec:ContextLength"] = "4096",
    });

    public async Task DisposeAsync() => await Server.DisposeAsync();

    [Fact]
    public async Task With_the_only_slot_held_a_waiting_request_has_a_growing_oldest_wait_and_none_once_placed()
    {
        using var tenant = Server.Client(TokenGridServer.DemoKey);
        using var anonymous = Server.Client(null);

        // A job of all its 4,000 tokens holds the node's one slot until it is cancelled.
        var holder = (await (await tenant.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Hold the slot", max_tokens = 4000, ignore_eos = true }))
            .ReadJsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>();
        var request = tenant.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Wait for a node", max_tokens = 2 });

        // From the first scrape that shows it waiting, the queue time histogram must not move while it waits. (Before
        // then it may have: the holder's placement is observed when it is placed.)
        double? wait = null;
        double? queueTimeWhileWaiting = null;
        for (var attempt = 0; attempt < 200 && wait is not > 0.5; attempt++)
        {
            await Task.Delay(50);
            var scrape = await anonymous.GetStringAsync("metrics");
            wait = OldestWait(scrape);
            queueTimeWhileWaiting ??= wait > 0 ? QueueTimeCount(scrape) ?? 0 : null;
        }

        var metrics = await anonymous.GetStringAsync("metrics");
        Assert.True(wait > 0.5, $"oldest wait {wait}");
        Assert.Equal(queueTimeWhileWaiting, QueueTimeCount(metrics) ?? 0);
        Assert.Matches(@"(?m)^tokengrid_requests_waiting\{[^}]*model=""demo""[^}]*\} 1$", metrics);

        Assert.Equal(HttpStatusCode.OK, (await tenant.PostAsync($"v1/jobs/{holder}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await request).StatusCode);

        // The freed slot places the request at once, so the request can end within the exporter's short response cache of
        // the last scrape above: read until a scrape taken after the placement shows, and it must show no wait.
        var placed = OldestWait(await anonymous.GetStringAsync("metrics"));
        for (var attempt = 0; attempt < 40 && placed != 0; attempt++)
        {
            Assert.True(placed >= wait, $"oldest wait {placed} after {wait}: a scrape after the placement still shows a wait");
            await Task.Delay(50);
            placed = OldestWait(await anonymous.GetStringAsync("metrics"));
        }

        Assert.Equal(0, placed);
    }

    private static double? OldestWait(string metrics) => Value(OldestWaitLine().Match(metrics));

    private static double? QueueTimeCount(string metrics) => Value(QueueTimeCountLine().Match(metrics));

    private static double? Value(Match match) =>
        match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    [GeneratedRegex(@"(?m)^tokengrid_request_queue_oldest_wait_seconds\{[^}]*model=""demo""[^}]*\} (\S+)$")]
    private static partial Regex OldestWaitLine();

    [GeneratedRegex(@"(?m)^tokengrid_request_queue_time_seconds_count\{[^}]*model=""demo""[^}]*\} (\S+)$")]
    private static partial Regex QueueTimeCountLine();
}
