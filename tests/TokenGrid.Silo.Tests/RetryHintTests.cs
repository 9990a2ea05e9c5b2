using System.Net;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// A server whose one node runs one sequence at a time and whose jobs time out after a second; its demo model has room
/// for a job that holds the slot for seconds. Its warnings and errors are kept.
/// </summary>
public sealed class ShortTimeoutServerFixture() : SettingsServerFixture(
    new Dictionary<string, string>
    {
        ["TokenGrid:Nodes:Engine:MaxBatchSize"] = "1",
        ["TokenGrid:Models:DemoSpec:ContextLength"] = "4096",
        ["TokenGrid:Api:JobTimeout"] = "00:00:01",
    },
    new ErrorLogCapture(Microsoft.Extensions.Logging.LogLevel.Warning));

/// <summary>
/// Final failures do not invite a retry: the OpenAI SDKs retry 409 and every 5xx by default, so a cancelled job or one
/// that timed out would run (and be charged) again unless the reply says <c>x-should-retry: false</c>.
/// </summary>
public sealed class RetryHintTests(SmallQueueServerFixture queue, ShortTimeoutServerFixture timeouts)
    : IClassFixture<SmallQueueServerFixture>, IClassFixture<ShortTimeoutServerFixture>
{
    private const string LongChat = """{"model":"demo","messages":[{"role":"user","content":"wait"}],"max_tokens":50,"ignore_eos":true}""";

    [Fact]
    public async Task A_chat_whose_queued_job_is_cancelled_is_409_job_cancelled_that_says_not_to_retry()
    {
        var server = queue.Server;
        await WithTheSlotHeldAsync(server, 100, async (_, _, client, holder) =>
        {
            var reply = client.PostAsync("v1/chat/completions", new StringContent(LongChat, System.Text.Encoding.UTF8, "application/json"));
            var queued = await WaitForQueuedAsync(client, holder);
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"v1/jobs/{queued}/cancel", null)).StatusCode);

            var refused = await reply;
            await refused.AssertProblemAsync(HttpStatusCode.Conflict, "job_cancelled");
            Assert.Equal(["false"], refused.Headers.GetValues("x-should-retry"));
            Assert.Null(refused.Headers.RetryAfter);
        });
    }

    [Fact]
    public async Task The_node_sdk_at_its_default_retries_sends_a_cancelled_chat_once_one_job_one_reservation()
    {
        var server = queue.Server;
        await WithTheSlotHeldAsync(server, 100, async (tenant, key, client, holder) =>
        {
            var result = await ReferenceTools.OpenAiRetriesAsync(new Uri(server.BaseAddress, "v1"), key, "cancel");

            Assert.Equal(1, result["attempts"]!.GetValue<int>());
            Assert.Equal(409, result["error"]!["status"]!.GetValue<int>());
            Assert.Equal("job_cancelled", result["error"]!["code"]!.GetValue<string>());
            var cancelled = result["cancelled"]!.GetValue<string>();

            var jobs = (await (await client.GetAsync("v1/jobs?limit=10")).ReadJsonAsync())["data"]!.AsArray().Select(j => j!["id"]!.GetValue<string>());
            Assert.Equal(new[] { cancelled, holder }.Order(StringComparer.Ordinal), jobs.Order(StringComparer.Ordinal));
            var reserves = (await server.LedgerOfJobAsync(tenant, cancelled)).Count(e => e["kind"]!.GetValue<string>() == "reserve");
            Assert.Equal(1, reserves);
        });
    }

    [Fact]
    public async Task A_job_that_times_out_is_504_job_timed_out_without_retry_after_and_the_node_sdk_sends_it_once()
    {
        var server = timeouts.Server;
        var (_, key) = await server.CreateTenantAsync(new { max_concurrent_jobs = 100 });
        using var client = server.Client(key);
        var before = await JobCountAsync(client);

        // Behind a job holding the only slot, a completion cannot finish within the second the server allows. The holder
        // times out too, after its own second, so the completion may get the slot before its second is over: 4,000
        // tokens take seconds however fast the machine (400 did not, on a quiet one).
        await HoldTheSlotAsync(client);
        var reply = await client.PostAsync("v1/completions", new StringContent(
            """{"model":"demo","prompt":"a long one","max_tokens":4000,"ignore_eos":true}""", System.Text.Encoding.UTF8, "application/json"));
        var problem = await reply.AssertProblemAsync(HttpStatusCode.GatewayTimeout, "job_timed_out");
        Assert.Contains("did not finish within", problem["detail"]!.GetValue<string>());

        // The job ran and is charged for what it produced: the problem names it, so the tenant can find it.
        var jobId = problem["job_id"]!.GetValue<string>();
        var job = await (await client.GetAsync($"v1/jobs/{jobId}")).ReadJsonAsync();
        Assert.Equal(jobId, job["id"]!.GetValue<string>());
        Assert.NotNull(job["finished_at"]);
        Assert.Equal(["false"], reply.Headers.GetValues("x-should-retry"));
        Assert.Null(reply.Headers.RetryAfter);
        Assert.False(reply.Headers.Contains("retry-after-ms"));

        // A documented outcome: a warning that names it, not the Error line of a fault nobody expected.
        Assert.Contains(timeouts.Log.Errors, e => e.StartsWith("Warning", StringComparison.Ordinal) && e.Contains("with 504 (job_timed_out)", StringComparison.Ordinal));
        Assert.DoesNotContain(timeouts.Log.Errors, e => e.StartsWith("Error", StringComparison.Ordinal) && e.Contains("ApiExceptionHandler", StringComparison.Ordinal));

        var counted = await JobCountAsync(client);
        await HoldTheSlotAsync(client);
        var result = await ReferenceTools.OpenAiRetriesAsync(new Uri(server.BaseAddress, "v1"), key, "plain");
        Assert.Equal(1, result["attempts"]!.GetValue<int>());
        Assert.Equal(504, result["error"]!["status"]!.GetValue<int>());
        Assert.Equal(counted + 2, await JobCountAsync(client));
        Assert.Equal(before + 2, counted);
    }

    [Fact]
    public async Task A_request_over_the_concurrency_limit_is_429_with_a_retry_after()
    {
        var server = queue.Server;
        await WithTheSlotHeldAsync(server, 1, async (_, _, client, _) =>
        {
            var refused = await client.PostAsync("v1/chat/completions", new StringContent(LongChat, System.Text.Encoding.UTF8, "application/json"));

            // No job of the tenant has ended yet, so the wait is the unmeasured one; the SDKs follow it instead of their own backoff.
            await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "concurrency_limit_exceeded");
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
            Assert.Equal(["1000"], refused.Headers.GetValues("retry-after-ms"));
        });
    }

    [Fact]
    public async Task A_request_larger_than_the_whole_quota_is_a_final_429_the_node_sdk_sends_once()
    {
        // "Hi" and 30 tokens cannot fit a quota of 20 in any period: no wait helps.
        var (_, key) = await queue.Server.CreateTenantAsync(new { period_quota = 20 });
        using var client = queue.Server.Client(key);

        var refused = await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hi", max_tokens = 30 });
        var problem = await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "request_exceeds_quota");
        Assert.Equal("insufficient_quota", problem["error"]!["type"]!.GetValue<string>());
        Assert.Contains("can never be admitted", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(["false"], refused.Headers.GetValues("x-should-retry"));
        Assert.Null(refused.Headers.RetryAfter);
        Assert.False(refused.Headers.Contains("retry-after-ms"));

        var result = await ReferenceTools.OpenAiCompletionRetriesAsync(new Uri(queue.Server.BaseAddress, "v1"), key, 30);
        Assert.Equal(1, result["attempts"]!.GetValue<int>());
        Assert.Equal((429, "request_exceeds_quota"), (result["error"]!["status"]!.GetValue<int>(), result["error"]!["code"]!.GetValue<string>()));
        Assert.Equal(2, await RejectedCountAsync(client));
    }

    [Fact]
    public async Task A_request_the_quota_covers_once_it_starts_over_is_a_429_with_retry_after_that_the_node_sdk_retries()
    {
        // 25 of 40 spent: "Hi" and 30 fit a fresh period, not what is left of this one.
        var (_, key) = await queue.Server.CreateTenantAsync(new { period_quota = 40 });
        using var client = queue.Server.Client(key);
        await client.PostOkAsync("v1/completions", """{"model":"demo","prompt":"Hi","max_tokens":24,"ignore_eos":true}""");

        var refused = await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hi", max_tokens = 30 });
        await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "insufficient_quota");
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.False(refused.Headers.Contains("x-should-retry"));

        // The wait (to the period's end) is longer than the SDK follows, so it retries on its own backoff: 1 + 2 retries.
        var result = await ReferenceTools.OpenAiCompletionRetriesAsync(new Uri(queue.Server.BaseAddress, "v1"), key, 30);
        Assert.Equal(3, result["attempts"]!.GetValue<int>());
        Assert.Equal((429, "insufficient_quota"), (result["error"]!["status"]!.GetValue<int>(), result["error"]!["code"]!.GetValue<string>()));
        Assert.Equal(4, await RejectedCountAsync(client));
    }

    [Fact]
    public async Task Choices_the_server_ends_when_a_sibling_is_refused_are_not_recorded_as_the_tenants_cancel()
    {
        var server = queue.Server;
        await WithTheSlotHeldAsync(server, 100, async (_, _, client, holder) =>
        {
            // One choice queues (the tenant's one place), the next is refused: the request is 429 and the others end with it.
            var refused = await client.PostAsync("v1/chat/completions", new StringContent(
                """{"model":"demo","messages":[{"role":"user","content":"q"}],"max_tokens":5,"n":3}""", System.Text.Encoding.UTF8, "application/json"));
            await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "tenant_queue_full");

            var jobs = (await (await client.GetAsync("v1/jobs?limit=10")).ReadJsonAsync())["data"]!.AsArray()
                .Select(j => j!.AsObject()).Where(j => j["id"]!.GetValue<string>() != holder).ToList();
            Assert.Equal(3, jobs.Count);
            var ended = jobs.Where(j => j["status"]!.GetValue<string>() == "cancelled").ToList();
            Assert.NotEmpty(ended);
            Assert.All(ended, j =>
            {
                Assert.DoesNotContain("tenant", j["error"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
                Assert.StartsWith("Ended with its request", j["error"]!.GetValue<string>(), StringComparison.Ordinal);
            });

            using var anonymous = server.Client(null);
            var metrics = await anonymous.GetStringAsync("metrics");
            Assert.Contains("reason=\"ended_with_request\"", metrics, StringComparison.Ordinal);
        });
    }

    /// <summary>
    /// Runs <paramref name="test"/> (tenant, key, client, holder) for a new tenant of <paramref name="server"/> allowed
    /// <paramref name="maxConcurrentJobs"/>, while a job of its own holds the node's one slot; the holder is cancelled
    /// after, whatever happened.
    /// </summary>
    private static async Task WithTheSlotHeldAsync(
        TokenGridServer server, int maxConcurrentJobs, Func<string, string, HttpClient, string, Task> test)
    {
        var (tenant, key) = await server.CreateTenantAsync(new { max_concurrent_jobs = maxConcurrentJobs });
        using var client = server.Client(key);
        var holder = await HoldTheSlotAsync(client);
        try
        {
            await test(tenant, key, client, holder);
        }
        finally
        {
            await client.PostAsync($"v1/jobs/{holder}/cancel", null);
        }
    }

    /// <summary>
    /// Submits an async job long enough to hold the node's one slot for the test, however loaded the machine (all its
    /// 4,000 tokens, which take seconds; the tests cancel it); returns its id.
    /// </summary>
    private static async Task<string> HoldTheSlotAsync(HttpClient client)
    {
        var job = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Write an essay.", max_tokens = 4000, ignore_eos = true }))
            .ReadJsonAsync(HttpStatusCode.Accepted);
        return job["id"]!.GetValue<string>();
    }

    /// <summary>The id of the first queued job other than <paramref name="holder"/>, polled until it is listed.</summary>
    private static async Task<string> WaitForQueuedAsync(HttpClient client, string holder)
    {
        for (var i = 0; i < 500; i++)
        {
            var page = await (await client.GetAsync("v1/jobs?limit=5")).ReadJsonAsync();
            if (page["data"]!.AsArray().FirstOrDefault(j => j!["id"]!.GetValue<string>() != holder && j["status"]!.GetValue<string>() == "queued") is { } job)
            {
                return job["id"]!.GetValue<string>();
            }

            await Task.Yield();
        }

        throw new TimeoutException("The chat's job was never listed as queued.");
    }

    /// <summary>The tenant's jobs refused at admission: one per request the server saw and refused.</summary>
    private static async Task<int> RejectedCountAsync(HttpClient client) =>
        (await (await client.GetAsync("v1/jobs?limit=100")).ReadJsonAsync())["data"]!.AsArray().Count(j => j!["status"]!.GetValue<string>() == "rejected");

    private static async Task<int> JobCountAsync(HttpClient client) =>
        (await (await client.GetAsync("v1/jobs?limit=100")).ReadJsonAsync())["data"]!.AsArray().Count;
}
