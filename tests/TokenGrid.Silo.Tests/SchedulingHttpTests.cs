using System.Net;
using System.Net.Http.Json;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// A server whose one node runs one sequence at a time and whose queue holds one job per tenant, two in all; its demo
/// model has room for jobs that hold the slot for seconds (they are cancelled at the end of each test).
/// </summary>
public sealed class SmallQueueServerFixture() : SettingsServerFixture(new Dictionary<string, string>
{
    ["TokenGrid:Nodes:Engine:MaxBatchSize"] = "1",
    ["TokenGrid:Models:DemoSpec:ContextLength"] = "4096",
    ["TokenGrid:Scheduling:MaxQueuedPerTenant"] = "1",
    ["TokenGrid:Scheduling:MaxQueuedPerModel"] = "2",
});

/// <summary>Queue-full and no-eligible-node answers of the scheduler over HTTP, and a queued job's place in its status.</summary>
public sealed class SchedulingHttpTests(SmallQueueServerFixture fixture) : IClassFixture<SmallQueueServerFixture>
{
    // The jobs that fill the slot and the queue must still be running and queued when the tests look: all their tokens
    // (a draw of the end-of-text token at temperature 1 would end one early and start the next), and thousands of them.
    private const int LongMaxTokens = 4000;

    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task A_full_tenant_queue_answers_429_with_retry_after_and_a_queued_job_shows_its_position()
    {
        var (_, key) = await Server.CreateTenantAsync(new { max_concurrent_jobs = 100 });
        using var client = Server.Client(key);

        // A run that ends frees its slot: the drain rate's measure, which placements into idle slots do not move.
        await client.PostOkAsync("v1/completions", """{"model":"demo","prompt":"Hi","max_tokens":1}""");
        var running = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Write an essay.", max_tokens = LongMaxTokens, ignore_eos = true }))
            .ReadJsonAsync(HttpStatusCode.Accepted);
        var queued = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Write another.", max_tokens = LongMaxTokens, ignore_eos = true }))
            .ReadJsonAsync(HttpStatusCode.Accepted);
        try
        {
            var full = await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "And one more.", max_tokens = LongMaxTokens, ignore_eos = true });
            var problem = await full.AssertProblemAsync(HttpStatusCode.TooManyRequests, "tenant_queue_full");
            Assert.True(full.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "no Retry-After");
            Assert.Contains("waiting", problem["detail"]!.GetValue<string>());

            var status = await (await client.GetAsync($"v1/jobs/{queued["id"]}")).ReadJsonAsync();
            Assert.Equal("queued", status["status"]!.GetValue<string>());
            Assert.Equal(1, status["queue_position"]!.GetValue<int>());

            // Its expected wait is its position over the measured drain rate: the first run ended within the last 30 s
            // (DrainRateWindow), so at least one slot was freed per 30 s and the wait of place 1 is at most 30 s.
            Assert.InRange(status["expected_wait_seconds"]!.GetValue<double>(), double.Epsilon, 30);
        }
        finally
        {
            await client.PostAsync($"v1/jobs/{running["id"]}/cancel", null);
            await client.PostAsync($"v1/jobs/{queued["id"]}/cancel", null);
        }
    }

    [Fact]
    public async Task A_full_model_queue_answers_503_cluster_full_with_retry_after()
    {
        // One job runs and two wait (one per tenant, the model's bound): a third tenant's job finds the queue full.
        var jobs = new List<(HttpClient Client, string Id)>();
        try
        {
            foreach (var count in new[] { 2, 1 })
            {
                var (_, key) = await Server.CreateTenantAsync(new { max_concurrent_jobs = 100 });
                var client = Server.Client(key);
                for (var i = 0; i < count; i++)
                {
                    var job = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = $"Write essay {i}.", max_tokens = LongMaxTokens, ignore_eos = true }))
                        .ReadJsonAsync(HttpStatusCode.Accepted);
                    jobs.Add((client, job["id"]!.GetValue<string>()));
                }
            }

            var (_, third) = await Server.CreateTenantAsync();
            using var refusedClient = Server.Client(third);
            var refused = await refusedClient.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Hello", max_tokens = 4 });

            var problem = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "cluster_full");
            Assert.Contains("queue", problem["detail"]!.GetValue<string>());
            var retryAfter = refused.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
            Assert.True(refused.Headers.TryGetValues("retry-after-ms", out var ms), "no retry-after-ms");
            Assert.Equal(Math.Ceiling(long.Parse(Assert.Single(ms), System.Globalization.CultureInfo.InvariantCulture) / 1000.0), retryAfter.Value.TotalSeconds);
        }
        finally
        {
            foreach (var (client, id) in jobs)
            {
                await client.PostAsync($"v1/jobs/{id}/cancel", null);
            }

            foreach (var client in jobs.Select(j => j.Client).Distinct())
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_tenant_restricted_to_labels_no_node_carries_gets_503_with_the_reason()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        using (var admin = Server.Client(TokenGridServer.AdminKey))
        {
            var patched = await admin.PatchAsJsonAsync($"admin/tenants/{tenant}", new { budget = new { required_labels = new { region = "nowhere" } } });
            var budget = (await patched.ReadJsonAsync())["budget"]!;
            Assert.Equal("nowhere", budget["required_labels"]!["region"]!.GetValue<string>());
        }

        using var client = Server.Client(key);
        var refused = await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Hello", max_tokens = 4 });

        var problem = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "no_eligible_node");
        Assert.Contains("region=nowhere", problem["detail"]!.GetValue<string>());

        // Every 503 says when to come back, also when its cause gave no delay.
        Assert.Equal(2, refused.Headers.RetryAfter?.Delta?.TotalSeconds);
    }
}
