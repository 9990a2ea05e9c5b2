using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>Helpers for calling the API the way a client would.</summary>
public static class TestApi
{
    /// <summary>Creates a tenant through the admin API and issues it a key; returns the tenant id and the key.</summary>
    public static async Task<(string TenantId, string Key)> CreateTenantAsync(this TokenGridServer server, object? budget = null)
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var id = "t-" + Guid.NewGuid().ToString("N")[..12];
        var created = await admin.PostAsJsonAsync("admin/tenants", new { id, budget = budget ?? new { } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = await admin.PostAsJsonAsync($"admin/tenants/{id}/keys", new { name = "test" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        return (id, (await key.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>());
    }

    /// <summary>POSTs <paramref name="body"/> as JSON (with <c>Content-Type: application/json</c>).</summary>
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));

    /// <summary>The JSON body of a successful reply.</summary>
    public static async Task<JsonObject> ReadJsonAsync(this HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"Expected {expected}, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>
    /// Asserts an RFC 9457 problem with <paramref name="status"/> that also carries OpenAI's error object with
    /// <paramref name="code"/>; returns the body.
    /// </summary>
    public static async Task<JsonObject> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string? code = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal((int)status, body["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(body["type"]?.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(body["title"]?.GetValue<string>()));
        var error = body["error"]!.AsObject();
        Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(error["type"]!.GetValue<string>()));
        Assert.True(error.ContainsKey("param"));
        Assert.False(string.IsNullOrEmpty(body["trace_id"]?.GetValue<string>()), $"no trace_id: {text}");
        Assert.False(body.ContainsKey("traceId"), $"the trace id twice: {text}");
        if (body["detail"] is { } detail)
        {
            Assert.Equal(detail.GetValue<string>(), error["message"]!.GetValue<string>());
        }

        if (code is not null)
        {
            Assert.Equal(code, error["code"]?.GetValue<string>());
        }

        return body;
    }

    /// <summary>Asserts the six <c>x-ratelimit-*</c> headers.</summary>
    public static void AssertRateLimitHeaders(this HttpResponseMessage response)
    {
        foreach (var name in new[] { "limit-requests", "remaining-requests", "reset-requests", "limit-tokens", "remaining-tokens", "reset-tokens" })
        {
            Assert.True(response.Headers.Contains("x-ratelimit-" + name), $"x-ratelimit-{name} missing on {(int)response.StatusCode} {response.RequestMessage?.RequestUri}");
        }
    }

    /// <summary>The ledger entries of <paramref name="jobId"/>.</summary>
    public static async Task<List<JsonObject>> LedgerOfJobAsync(this TokenGridServer server, string tenantId, string jobId)
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        return [.. (await admin.LedgerAsync(tenantId)).Where(e => e["job_id"]!.GetValue<string>() == jobId)];
    }

    /// <summary>Every line of the tenant's ledger, page by page, read with the admin client <paramref name="admin"/>.</summary>
    public static async Task<List<JsonObject>> LedgerAsync(this HttpClient admin, string tenantId)
    {
        var entries = new List<JsonObject>();
        long after = 0;
        while (true)
        {
            var page = await (await admin.GetAsync($"admin/tenants/{tenantId}/ledger?after={after}&limit=100")).ReadJsonAsync();
            var items = page["entries"]!.AsArray().Select(e => e!.AsObject()).ToList();
            entries.AddRange(items);
            if (page["next_after"] is not { } next || items.Count == 0)
            {
                return entries;
            }

            after = next.GetValue<long>();
        }
    }

    /// <summary>The prompt and completion tokens of the tenant's charges.</summary>
    public static async Task<(int Prompt, int Completion)> ChargedAsync(this TokenGridServer server, string tenantId)
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var charges = (await admin.LedgerAsync(tenantId)).Where(e => e["kind"]!.GetValue<string>() == "charge").ToList();
        return (charges.Sum(e => e["prompt_tokens"]!.GetValue<int>()), charges.Sum(e => e["completion_tokens"]!.GetValue<int>()));
    }

    /// <summary>
    /// The tenant's only job, whose stream its client aborted, ends cancelled after 3 to <paramref name="maxCompletion"/>
    /// tokens and is charged for the tokens it produced and no more.
    /// </summary>
    public static async Task AssertAbortedAndChargedAsync(this TokenGridServer server, string tenantId, string key, int maxCompletion)
    {
        using var client = server.Client(key);
        var job = Assert.Single((await (await client.GetAsync("v1/jobs?limit=5")).ReadJsonAsync())["data"]!.AsArray())!["id"]!.GetValue<string>();
        await client.AssertEveryJobEndedAndSettledAsync([job]);
        var view = await (await client.GetAsync($"v1/jobs/{job}")).ReadJsonAsync();
        Assert.Equal("cancelled", view["status"]!.GetValue<string>());
        var completion = view["usage"]!["completion_tokens"]!.GetValue<int>();
        Assert.InRange(completion, 3, maxCompletion);

        var charge = Assert.Single(await server.LedgerOfJobAsync(tenantId, job), e => e["kind"]!.GetValue<string>() == "charge");
        Assert.Equal(completion, charge["completion_tokens"]!.GetValue<int>());
        Assert.Equal(view["charged_tokens"]!.GetValue<int>(), charge["tokens"]!.GetValue<int>());
    }

    /// <summary>
    /// Nothing accepted is lost: every one of <paramref name="jobs"/> (at least one) ends, its event stream closing, and
    /// the calling tenant holds no reservation and no open job.
    /// </summary>
    public static async Task AssertEveryJobEndedAndSettledAsync(this HttpClient client, IReadOnlyCollection<string> jobs)
    {
        Assert.NotEmpty(jobs);
        foreach (var job in jobs)
        {
            using var events = await client.GetAsync($"v1/jobs/{job}/events", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, events.StatusCode);
            await events.Content.ReadAsStringAsync();
            var view = await (await client.GetAsync($"v1/jobs/{job}")).ReadJsonAsync();
            Assert.Contains(view["status"]!.GetValue<string>(), new[] { "succeeded", "failed", "cancelled" });
        }

        var usage = await (await client.GetAsync("v1/usage")).ReadJsonAsync();
        Assert.Equal((0L, 0), (usage["reserved"]!.GetValue<long>(), usage["open_jobs"]!.GetValue<int>()));
    }
}
