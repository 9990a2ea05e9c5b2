using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>A job that ends early (client gone, or cancelled) is charged only the tokens it produced, exactly once.</summary>
[Collection(ServerCollection.Name)]
public sealed class ChargingTests(ServerFixture fixture) : ChargingSuite(fixture.Server);

/// <summary>The same on the postgres profile, where production runs.</summary>
[Collection(PostgresServerCollection.Name)]
public sealed class PostgresChargingTests(PostgresServerFixture fixture) : ChargingSuite(fixture.Server);

/// <summary>The tests of <see cref="ChargingTests"/>, on either profile.</summary>
public abstract class ChargingSuite(TokenGridServer server)
{
    private const int MaxTokens = 450;

    // The disconnect test needs a job that outlasts the time the server takes to see the client go, whatever the
    // sampling speed: a server of its own whose demo model has room for thousands of tokens.
    private const int LongMaxTokens = 4000;

    private TokenGridServer Server => server;

    [Fact]
    public async Task Client_disconnect_mid_stream_cancels_the_job_and_charges_only_produced_tokens()
    {
        await using var server = await TokenGridServer.StartAsync(new Dictionary<string, string> { ["TokenGrid:Models:DemoSpec:ContextLength"] = "4096" });
        var (tenant, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);
        string jobId;
        using (var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions"))
        {
            request.Content = new StringContent(JsonSerializer.Serialize(new
            {
                model = "demo",
                messages = new[] { new { role = "user", content = "Tell me a long story." } },
                max_tokens = LongMaxTokens,

                // Only the disconnect may end it: a draw of the end-of-text token (temperature 1) would end it as succeeded.
                ignore_eos = true,
                stream = true,
            }), Encoding.UTF8, "application/json");
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var events = new SseReader(await response.Content.ReadAsStreamAsync());

            // Read until the first generated text, then go away without reading the rest.
            JsonObject? chunk;
            do
            {
                chunk = await events.ReadJsonAsync();
                Assert.NotNull(chunk);
            }
            while (chunk["choices"]![0]!["delta"]!["content"]?.GetValue<string>() is null or "");

            jobId = chunk["id"]!.GetValue<string>()["chatcmpl-".Length..];
            events.Dispose();
            response.Dispose();
        }

        var job = await WaitForEndAsync(client, jobId);
        Assert.Equal("cancelled", job["status"]!.GetValue<string>());
        await AssertChargedOnceForProducedTokensAsync(server, tenant, job, LongMaxTokens);
    }

    [Fact]
    public async Task Cancelling_a_job_charges_only_produced_tokens()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        var submitted = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Write an essay.", max_tokens = MaxTokens, ignore_eos = true }))
            .ReadJsonAsync(HttpStatusCode.Accepted);
        var jobId = submitted["id"]!.GetValue<string>();

        using var response = await client.GetAsync($"v1/jobs/{jobId}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        while (await events.ReadAsync() is { } e && e.Event != "tokens")
        {
        }

        var cancelled = await (await client.PostAsync($"v1/jobs/{jobId}/cancel", null)).ReadJsonAsync();
        Assert.Equal("cancelled", cancelled["status"]!.GetValue<string>());

        // The event stream ends with the final status.
        JsonObject? final = null;
        while (await events.ReadAsync() is { } e)
        {
            if (e.Event == "status")
            {
                final = JsonNode.Parse(e.Data)!["job"]!.AsObject();
            }
        }

        Assert.Equal("cancelled", final!["status"]!.GetValue<string>());
        await AssertChargedOnceForProducedTokensAsync(Server, tenant, final, MaxTokens);
    }

    private static async Task AssertChargedOnceForProducedTokensAsync(TokenGridServer server, string tenant, JsonObject job, int maxTokens)
    {
        var prompt = job["usage"]!["prompt_tokens"]!.GetValue<int>();
        var completion = job["usage"]!["completion_tokens"]!.GetValue<int>();
        Assert.InRange(completion, 1, maxTokens - 1);
        Assert.Equal(prompt + completion, job["charged_tokens"]!.GetValue<long>());

        var ledger = await server.LedgerOfJobAsync(tenant, job["id"]!.GetValue<string>());
        var charges = ledger.Where(e => e["kind"]!.GetValue<string>() == "charge").ToList();
        var reserve = Assert.Single(ledger, e => e["kind"]!.GetValue<string>() == "reserve");
        var refund = Assert.Single(ledger, e => e["kind"]!.GetValue<string>() == "refund");
        var charge = Assert.Single(charges);
        Assert.Equal(prompt + completion, charge["tokens"]!.GetValue<long>());
        Assert.Equal((prompt, completion), (charge["prompt_tokens"]!.GetValue<long>(), charge["completion_tokens"]!.GetValue<long>()));
        Assert.Equal((0L, 0L), (reserve["prompt_tokens"]!.GetValue<long>(), reserve["completion_tokens"]!.GetValue<long>()));
        Assert.Equal(prompt + maxTokens, reserve["tokens"]!.GetValue<long>());
        Assert.Equal(reserve["tokens"]!.GetValue<long>(), charge["tokens"]!.GetValue<long>() + refund["tokens"]!.GetValue<long>());
    }

    /// <summary>Follows the job's events to its final status (the job is settled before that event is sent).</summary>
    private static async Task<JsonObject> WaitForEndAsync(HttpClient client, string jobId)
    {
        using var response = await client.GetAsync($"v1/jobs/{jobId}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        JsonObject? last = null;
        while (await events.ReadAsync() is { } e)
        {
            if (e.Event == "status")
            {
                last = JsonNode.Parse(e.Data)!["job"]!.AsObject();
            }
        }

        Assert.NotNull(last);
        return last;
    }
}
