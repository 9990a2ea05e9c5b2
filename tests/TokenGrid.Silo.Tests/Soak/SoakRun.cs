using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using TokenGrid.Silo.Tests.Capacity;
using TokenGrid.Silo.Tests.Cluster;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Soak;

/// <summary>One reading of a silo's own metrics during a soak.</summary>
/// <param name="At">Time since the soak started.</param>
/// <param name="WorkingSetMb">The process's resident memory (<c>dotnet_process_memory_working_set_bytes</c>).</param>
/// <param name="JobActivations">Live job grain activations (<c>orleans_catalog_activations{grain_type="job"}</c>).</param>
/// <param name="Finished">Requests answered by then.</param>
/// <param name="Gen2Collections">Full collections so far (<c>dotnet_gc_collections_total{gc_heap_generation="gen2"}</c>).</param>
/// <param name="GcPauseSeconds">Time the collector has paused the process so far (<c>dotnet_gc_pause_time_seconds_total</c>).</param>
/// <param name="SweptJobs">Jobs the retention sweep has claimed so far (<c>tokengrid_job_content_swept_jobs_total</c>).</param>
/// <param name="SweepSeconds">Time the retention sweep's batches have taken so far (their duration histogram's sum).</param>
/// <param name="DbConnectionsOpened">PostgreSQL connections the silo has opened so far (<c>db_client_connection_npgsql_create_time_seconds_count</c>).</param>
/// <param name="GcCommittedMb">Memory the collector had committed at its last collection (<c>dotnet_gc_last_collection_memory_committed_size_bytes</c>): the managed part of <paramref name="WorkingSetMb"/>.</param>
/// <param name="ThreadPoolThreads">Threads of the runtime's thread pool now (<c>dotnet_thread_pool_thread_count_total</c>): it adds threads when work waits behind blocked ones.</param>
public sealed record SoakSample(
    TimeSpan At, double WorkingSetMb, double JobActivations, int Finished, double Gen2Collections = double.NaN, double GcPauseSeconds = double.NaN,
    double SweptJobs = double.NaN, double SweepSeconds = double.NaN, double DbConnectionsOpened = double.NaN,
    double GcCommittedMb = double.NaN, double ThreadPoolThreads = double.NaN);

/// <summary>One request of a soak: when it was sent (since the start), how long it took, and whether it failed.</summary>
public readonly record struct SoakRequest(TimeSpan SentAt, TimeSpan Latency, string? Error);

/// <summary>What a soak measured.</summary>
public sealed record SoakResult(IReadOnlyList<SoakRequest> Requests, IReadOnlyList<SoakSample> Samples)
{
    /// <summary>Requests that were not answered in full (a status other than 200, a broken stream, an exception).</summary>
    public IReadOnlyList<SoakRequest> Errors => [.. Requests.Where(r => r.Error is not null)];

    /// <summary>Least-squares slope of resident memory over the samples from <paramref name="from"/> on, in MB per minute.</summary>
    public double WorkingSetSlopeMbPerMinute(TimeSpan from)
    {
        var points = Samples.Where(s => s.At >= from).Select(s => (X: s.At.TotalMinutes, Y: s.WorkingSetMb)).ToList();
        if (points.Count < 2)
        {
            return double.NaN;
        }

        var meanX = points.Average(p => p.X);
        var meanY = points.Average(p => p.Y);
        var spread = points.Sum(p => (p.X - meanX) * (p.X - meanX));
        return spread == 0 ? double.NaN : points.Sum(p => (p.X - meanX) * (p.Y - meanY)) / spread;
    }

    /// <summary>The 99th percentile latency, in seconds, of the successful requests sent in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public double P99Seconds(TimeSpan from, TimeSpan to)
    {
        var latencies = Requests.Where(r => r.Error is null && r.SentAt >= from && r.SentAt < to).Select(r => r.Latency.TotalSeconds).Order().ToList();
        return latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(latencies.Count * 0.99) - 1)];
    }
}

/// <summary>
/// A fixed request rate against one silo for a while, as tenants send it: chat completions with OpenAI's default
/// sampling (no temperature given), every other one streamed, each sent on schedule whether or not earlier ones have
/// been answered (an open loop, so a slowing silo shows as latency, not as a lower rate). Reads the silo's resident memory
/// and live job activations from its <c>/metrics</c> as it goes. Used by the <c>soak</c> benchmark and its short CI run.
/// </summary>
public static class SoakRun
{
    /// <summary>
    /// Settings for a soak's silo on <paramref name="profile"/>: the demo tenant with <paramref name="key"/> and budgets no
    /// soak reaches (the soak measures the grid, not its limits), and finished jobs kept for <paramref name="grace"/>.
    /// </summary>
    public static Dictionary<string, string> SiloSettings(string profile, string adminKey, string key, TimeSpan grace) => new()
    {
        ["profile"] = profile,
        ["TokenGrid:Admin:ApiKey"] = adminKey,
        ["TokenGrid:Demo:ApiKey"] = key,
        ["TokenGrid:Demo:Budget:RequestsPerMinute"] = "1000000",
        ["TokenGrid:Demo:Budget:TokensPerMinute"] = "1000000000",
        ["TokenGrid:Demo:Budget:MaxConcurrentJobs"] = "10000",
        ["TokenGrid:Demo:Budget:PeriodQuota"] = "1000000000000",
        ["TokenGrid:Jobs:ReattachGrace"] = grace.ToString("c", CultureInfo.InvariantCulture),
        ["Logging:LogLevel:Default"] = "Warning",
    };

    /// <summary>Runs <paramref name="rate"/> requests per second for <paramref name="duration"/>, reading metrics every <paramref name="sampleEvery"/>.</summary>
    public static async Task<SoakResult> RunAsync(
        SiloProcess silo, string key, double rate, TimeSpan duration, int maxTokens, TimeSpan sampleEvery, CancellationToken cancellationToken = default)
    {
        using var client = silo.Client(key);
        client.Timeout = TimeSpan.FromSeconds(60);
        using var metrics = silo.Client(null);
        var clock = Stopwatch.StartNew();
        var requests = new List<Task<SoakRequest>>();
        var samples = new List<SoakSample>();
        var finished = 0;

        // Metrics are read on their own schedule: a slow read must not hold back the requests due meanwhile (they would
        // then go out late, together, as a burst the silo never saw from the schedule).
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = SampleEveryAsync(metrics, clock, sampleEvery, samples, () => Volatile.Read(ref finished), sampling.Token);
        for (var i = 0; ; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate);
            if (due >= duration)
            {
                break;
            }

            if (due > clock.Elapsed)
            {
                // Pacing the load itself: the next request is due then.
                await Task.Delay(due - clock.Elapsed, cancellationToken);
            }

            var stream = i % 2 == 1;
            requests.Add(SendAsync(client, clock, stream, maxTokens, i).ContinueWith(t =>
            {
                Interlocked.Increment(ref finished);
                return t.Result;
            }, TaskScheduler.Default));
        }

        var done = await Task.WhenAll(requests);
        await sampling.CancelAsync();
        try
        {
            await sampler;
        }
        catch (OperationCanceledException) when (sampling.IsCancellationRequested)
        {
        }

        samples.Add(await SampleAsync(metrics, clock.Elapsed, done.Length, cancellationToken));
        return new SoakResult(done, samples);
    }

    /// <summary>Adds a sample to <paramref name="samples"/> at 0, <paramref name="every"/>, 2 × <paramref name="every"/>, … until cancelled.</summary>
    private static async Task SampleEveryAsync(
        HttpClient metrics, Stopwatch clock, TimeSpan every, List<SoakSample> samples, Func<int> finished, CancellationToken cancellationToken)
    {
        for (var next = TimeSpan.Zero; ; next += every)
        {
            if (next > clock.Elapsed)
            {
                await Task.Delay(next - clock.Elapsed, cancellationToken);
            }

            samples.Add(await SampleAsync(metrics, clock.Elapsed, finished(), cancellationToken));
        }
    }

    /// <summary>The silo's resident memory, live job activations, collector and retention sweep counters, and PostgreSQL pools now.</summary>
    public static async Task<SoakSample> SampleAsync(HttpClient metrics, TimeSpan at, int finished, CancellationToken cancellationToken = default)
    {
        var text = await metrics.GetStringAsync("metrics", cancellationToken);
        return new SoakSample(
            at,
            (MetricValue(text, "dotnet_process_memory_working_set_bytes", null) ?? double.NaN) / (1024 * 1024),
            MetricValue(text, "orleans_catalog_activations", "grain_type=\"job\"") ?? 0,
            finished,
            MetricValue(text, "dotnet_gc_collections_total", "gc_heap_generation=\"gen2\"") ?? double.NaN,
            MetricValue(text, "dotnet_gc_pause_time_seconds_total", null) ?? double.NaN,
            MetricValue(text, "tokengrid_job_content_swept_jobs_total", null) ?? 0,
            MetricValue(text, "tokengrid_job_content_sweep_batch_duration_seconds_sum", null) ?? 0,
            MetricsText.Sum(text, ["db_client_connection_npgsql_create_time_seconds_count"]) ?? 0,
            (MetricValue(text, "dotnet_gc_last_collection_memory_committed_size_bytes", null) ?? double.NaN) / (1024 * 1024),
            MetricValue(text, "dotnet_thread_pool_thread_count_total", null) ?? double.NaN);
    }

    /// <summary>The value of the first series of <paramref name="name"/> whose labels hold <paramref name="label"/>, or null.</summary>
    public static double? MetricValue(string exposition, string name, string? label)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is '{' or ' '
                && (label is null || line.Contains(label, StringComparison.Ordinal)))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    private static async Task<SoakRequest> SendAsync(HttpClient client, Stopwatch clock, bool stream, int maxTokens, int index)
    {
        var sentAt = clock.Elapsed;
        var body = $$"""{"model":"demo","messages":[{"role":"user","content":"Soak request {{index}}: tell me about the token office."}],"max_tokens":{{maxTokens}},"stream":{{(stream ? "true" : "false")}}}""";
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return new SoakRequest(sentAt, clock.Elapsed - sentAt, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }

            if (stream)
            {
                using var events = new SseReader(await response.Content.ReadAsStreamAsync());
                while (await events.ReadAsync() is { } e)
                {
                    if (e.Data == "[DONE]")
                    {
                        return new SoakRequest(sentAt, clock.Elapsed - sentAt, null);
                    }
                }

                return new SoakRequest(sentAt, clock.Elapsed - sentAt, "the stream ended without [DONE]");
            }

            await response.Content.ReadAsStringAsync();
            return new SoakRequest(sentAt, clock.Elapsed - sentAt, null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return new SoakRequest(sentAt, clock.Elapsed - sentAt, $"{e.GetType().Name}: {e.Message}");
        }
    }
}
