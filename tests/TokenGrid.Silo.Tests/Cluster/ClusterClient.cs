using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Cluster;

/// <summary>What the cluster tests ask of the API, the way a tenant's client would.</summary>
public static class ClusterClient
{
    /// <summary>The prompt of every job: greedy, so every run (and every resumed run) has the same output.</summary>
    public const string Prompt = "The token office opened its doors and";

    /// <summary>Tokens per job: long enough to be running when a silo dies.</summary>
    public const int MaxTokens = 400;

    /// <summary>A stop sequence the demo model's greedy output never contains: the job ends as without it, yet has one.</summary>
    public const string NeverStop = "@@never@@";

    private static object Body(bool stream = false, int maxTokens = MaxTokens, bool withStop = false) => withStop
        ? new { model = "demo", prompt = Prompt, max_tokens = maxTokens, temperature = 0, stream, stop = new[] { NeverStop } }
        : new { model = "demo", prompt = Prompt, max_tokens = maxTokens, temperature = 0, stream, stop = Array.Empty<string>() };

    // An async job takes no "stream" (it is read through /v1/jobs/{id}/events): the API refuses fields it does not know.
    private static object JobBody(bool withStop, int maxTokens = MaxTokens) => withStop
        ? new { model = "demo", prompt = Prompt, max_tokens = maxTokens, temperature = 0, stop = new[] { NeverStop } }
        : new { model = "demo", prompt = Prompt, max_tokens = maxTokens, temperature = 0, stop = Array.Empty<string>() };

    /// <summary>A completion, waited for; returns its text and job id.</summary>
    public static async Task<(string JobId, string Text)> CompleteAsync(SiloProcess silo, string key, int maxTokens = MaxTokens)
    {
        using var client = silo.Client(key);
        var reply = await (await client.PostJsonAsync("v1/completions", Body(maxTokens: maxTokens))).ReadJsonAsync();
        return (reply["id"]!.GetValue<string>()["cmpl-".Length..], reply["choices"]![0]!["text"]!.GetValue<string>());
    }

    /// <summary>
    /// Submits an async job, with a stop sequence when <paramref name="withStop"/> (as chat jobs always have); its id, or
    /// null when the API refused it with a problem (429 or 503).
    /// </summary>
    public static async Task<string?> SubmitAsync(SiloProcess silo, string key, bool withStop = false)
    {
        using var client = silo.Client(key);
        using var response = await client.PostJsonAsync("v1/jobs", JobBody(withStop));
        if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
        {
            var problem = await response.AssertProblemAsync(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                AssertRetryAfter(response, problem);
            }

            return null;
        }

        return (await response.ReadJsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>();
    }

    /// <summary>
    /// Submits an async job and says how the API answered: the job id on 202; otherwise the status, after checking the
    /// reply is a problem document and, for 503, that it carries Retry-After.
    /// </summary>
    public static async Task<(HttpStatusCode Status, string? JobId)> TrySubmitAsync(SiloProcess silo, string key, int maxTokens)
    {
        using var client = silo.Client(key);
        using var response = await client.PostJsonAsync("v1/jobs", JobBody(withStop: false, maxTokens));
        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            return (response.StatusCode, (await response.ReadJsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>());
        }

        var problem = await response.AssertProblemAsync(response.StatusCode);
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            AssertRetryAfter(response, problem);
        }

        return (response.StatusCode, null);
    }

    /// <summary>
    /// A 503's Retry-After is the delay its cause gives (a scheduler's measured drain), else 2 s: a database or a silo
    /// that is unavailable (the documented value). <c>retry-after-ms</c> says the same delay to the millisecond.
    /// </summary>
    public static void AssertRetryAfter(HttpResponseMessage response, JsonObject problem)
    {
        var seconds = response.Headers.RetryAfter?.Delta;
        Assert.True(seconds is not null, "A 503 without Retry-After in seconds.");
        Assert.True(response.Headers.TryGetValues("retry-after-ms", out var values), "A 503 without retry-after-ms.");
        var milliseconds = long.Parse(Assert.Single(values), System.Globalization.CultureInfo.InvariantCulture);
        if (problem["error"]!["code"]?.GetValue<string>() == "service_unavailable")
        {
            Assert.Equal((TimeSpan.FromSeconds(2), 2000L), (seconds.Value, milliseconds));
        }
        else
        {
            Assert.Equal(TimeSpan.FromSeconds((milliseconds + 999) / 1000), seconds.Value);
        }
    }

    /// <summary>
    /// A streamed completion through <paramref name="silo"/>; its job id and the text streamed, and whether it ended with
    /// a finish reason. <paramref name="started"/> is set at the first chunk.
    /// </summary>
    public static async Task<(string JobId, string Text, bool Finished)> StreamAsync(SiloProcess silo, string key, TaskCompletionSource? started = null)
    {
        using var client = silo.Client(key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = JsonContent(Body(stream: true)) };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();
        string? jobId = null, finish = null;
        while (await events.ReadJsonAsync() is { } chunk)
        {
            Assert.Null(chunk["error"]);
            jobId ??= chunk["id"]!.GetValue<string>()["cmpl-".Length..];
            text.Append(chunk["choices"]![0]!["text"]!.GetValue<string>());
            started?.TrySetResult();
            finish ??= chunk["choices"]![0]!["finish_reason"]?.GetValue<string>();
        }

        return (jobId!, text.ToString(), finish is not null);
    }

    /// <summary>
    /// Watches a job's events through <paramref name="silo"/> until the final status or until the stream breaks (the
    /// silo died) or the API answers 503; returns the text received, the last event id and the final job when it came.
    /// With <paramref name="after"/>, sends it as <c>Last-Event-ID</c>. Every event must carry an id, greater than the
    /// last one (so a re-attached watch replays nothing); <paramref name="received"/> is set once a text event came.
    /// </summary>
    public static async Task<(string Text, long LastSequence, JsonObject? Final)> WatchAsync(
        SiloProcess silo, string key, string jobId, long after = 0, TaskCompletionSource? received = null)
    {
        using var client = silo.Client(key);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/jobs/{jobId}/events");
        if (after > 0)
        {
            request.Headers.Add("Last-Event-ID", after.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var text = new StringBuilder();
        var last = after;
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                // A silo is failing (the job's grain lived there): the client retries after Retry-After.
                AssertRetryAfter(response, await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable));
                return (text.ToString(), last, null);
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var events = new SseReader(await response.Content.ReadAsStreamAsync());
            while (await events.ReadAsync() is { } e)
            {
                var data = JsonNode.Parse(e.Data)!.AsObject();
                var id = long.Parse(events.LastEventId ?? throw new InvalidOperationException($"An event of job {jobId} without an id."),
                    System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(id, data["sequence"]!.GetValue<long>());
                Assert.True(id > last, $"Job {jobId}: event {id} after {last} (a replay).");
                last = id;
                if (e.Event == "tokens")
                {
                    text.Append(data["text"]!.GetValue<string>());
                    received?.TrySetResult();
                }
                else if (data["job"] is JsonObject job && job["finished_at"] is not null)
                {
                    return (text.ToString(), last, job);
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // The silo serving the watch died.
        }

        return (text.ToString(), last, null);
    }

    /// <summary>Polls the job through a live silo until it has ended; throws with the silos' logs when the bound passes.</summary>
    public static async Task<JsonObject> WaitFinishedAsync(SiloClusterFixture cluster, string key, string jobId, DateTime deadline)
    {
        while (true)
        {
            try
            {
                var job = await cluster.JobAsync(key, jobId);
                if (job?["finished_at"] is not null && job["charged_tokens"] is not null)
                {
                    return job;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // A silo busy recovering; ask again.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Job {jobId} did not end and settle in time:\n{cluster.Logs}");
            }

            await Task.Delay(200);
        }
    }

    private static StringContent JsonContent(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
}
