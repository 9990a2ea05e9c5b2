using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Grains.Jobs.Retention;
using TokenGrid.Silo.Tests.Capacity;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>Steps the retention tests share on both profiles: jobs run to their end, the clock moves, the sweep runs.</summary>
public static class RetentionSteps
{
    /// <summary>The settings that keep the periodic sweep out of a test (which sweeps explicitly): far longer than any clock move.</summary>
    public static Dictionary<string, string> Settings(Dictionary<string, string>? settings = null)
    {
        var all = new Dictionary<string, string>(settings ?? []) { ["TokenGrid:Retention:SweepInterval"] = "45.00:00:00" };
        return all;
    }

    /// <summary>Creates tenant <paramref name="id"/> with a key; returns the key.</summary>
    public static async Task<string> CreateTenantAsync(TokenGridServer server, string id)
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("admin/tenants", new { id })).StatusCode);
        var key = await admin.PostAsJsonAsync($"admin/tenants/{id}/keys", new { name = "test" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        return (await key.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
    }

    /// <summary>Submits an async job and waits for its end; returns the finished job.</summary>
    public static async Task<JsonObject> RunAsyncJobAsync(HttpClient client, string prompt = "Tell me about retention.", int maxTokens = 6)
    {
        var submitted = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt, max_tokens = maxTokens }))
            .ReadJsonAsync(HttpStatusCode.Accepted);
        var id = submitted["id"]!.GetValue<string>();
        using (var events = await client.GetAsync($"v1/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, events.StatusCode);
            await events.Content.ReadAsStringAsync();
        }

        var job = await GetJobAsync(client, id);
        Assert.Equal("succeeded", job["status"]!.GetValue<string>());
        return job;
    }

    /// <summary>Runs a (non-streamed) chat completion; returns its job id.</summary>
    public static async Task<string> RunChatAsync(HttpClient client)
    {
        var completion = await (await client.PostJsonAsync("v1/chat/completions", new
        {
            model = "demo",
            messages = new[] { new { role = "user", content = "Hello there." } },
            max_tokens = 4,
        })).ReadJsonAsync();
        return completion["id"]!.GetValue<string>()["chatcmpl-".Length..];
    }

    /// <summary>The text of the job's <c>tokens</c> events, read to the end of the stream.</summary>
    public static async Task<string> EventsTextAsync(HttpClient client, string id)
    {
        using var response = await client.GetAsync($"v1/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        var text = new System.Text.StringBuilder();
        while (await events.ReadAsync() is { } e)
        {
            if (e.Event == "tokens")
            {
                text.Append(JsonNode.Parse(e.Data)!["text"]!.GetValue<string>());
            }
        }

        return text.ToString();
    }

    public static async Task<JsonObject> GetJobAsync(HttpClient client, string id) => await (await client.GetAsync($"v1/jobs/{id}")).ReadJsonAsync();

    /// <summary>The tenant's listing, all pages: job id to job.</summary>
    public static async Task<Dictionary<string, JsonObject>> ListAsync(HttpClient client)
    {
        var jobs = new Dictionary<string, JsonObject>();
        string? before = null;
        while (true)
        {
            var page = await (await client.GetAsync("v1/jobs?limit=100" + (before is null ? "" : "&before=" + before))).ReadJsonAsync();
            foreach (var job in page["data"]!.AsArray())
            {
                jobs[job!["id"]!.GetValue<string>()] = job.AsObject();
            }

            if (!page["has_more"]!.GetValue<bool>())
            {
                return jobs;
            }

            before = page["last_id"]!.GetValue<string>();
        }
    }

    /// <summary>Runs the silo's sweep now (as its timer would).</summary>
    public static Task<JobContentSweep> SweepAsync(TokenGridServer server) => server.Services.GetRequiredService<JobContentSweeper>().SweepAsync();

    /// <summary>Asserts the job's content is gone for <paramref name="reason"/>: the record is kept, its events answer 410.</summary>
    public static async Task AssertContentDeletedAsync(HttpClient client, JsonObject before, string reason, string code)
    {
        var id = before["id"]!.GetValue<string>();
        var after = await GetJobAsync(client, id);
        Assert.Null(after["output"]);
        Assert.Equal(reason, after["content_deleted"]!["reason"]!.GetValue<string>());

        // The content-free record: everything but the content stays as it was.
        foreach (var field in new[] { "status", "model", "node_id", "submitted_at", "finished_at", "usage", "charged_tokens", "finish_reason" })
        {
            Assert.Equal(before[field]?.ToJsonString(), after[field]?.ToJsonString());
        }

        var gone = await client.GetAsync($"v1/jobs/{id}/events");
        var problem = await gone.AssertProblemAsync(HttpStatusCode.Gone, code);
        Assert.Contains(reason == "expired" ? "retention period ended" : "by its tenant", problem["detail"]!.GetValue<string>());
    }

    /// <summary>
    /// The deleted-content counters with <paramref name="reason"/> and the oldest-content gauge on the server's
    /// <c>/metrics</c>. Scrape once per test: the exporter may answer a repeated scrape from its short cache.
    /// </summary>
    public static async Task<(double Jobs, double Bytes, double? OldestAge)> DeletedMetricsAsync(TokenGridServer server, string reason)
    {
        using var anonymous = server.Client(null);
        var text = await anonymous.GetStringAsync("metrics");
        return (
            MetricsText.Sum(text, ["tokengrid_job_content_deleted_jobs_total"], l => l.GetValueOrDefault("reason") == reason) ?? 0,
            MetricsText.Sum(text, ["tokengrid_job_content_deleted_bytes_total"], l => l.GetValueOrDefault("reason") == reason) ?? 0,
            MetricsText.Sum(text, ["tokengrid_job_content_oldest_age_seconds"]));
    }
}
