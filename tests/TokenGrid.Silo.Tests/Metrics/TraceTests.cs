using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using TokenGrid.Grains.Telemetry;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Metrics;

/// <summary>One trace spans the HTTP request, the admission, the job, the node, and the first and last token.</summary>
[Collection(MetricsCollection.Name)]
public sealed class TraceTests(MetricsFixture fixture)
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task A_streamed_completion_is_one_trace_from_the_http_request_to_the_last_token()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is TokenGridTracing.SourceName or "Microsoft.AspNetCore" || source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        var (tenantId, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        var traceId = ActivityTraceId.CreateRandom();
        var remoteParent = ActivitySpanId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = JsonContent.Create(new { model = "demo", prompt = "Trace every hop", max_tokens = 6, temperature = 0, stream = true }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{remoteParent}-01");
        using (var response = await client.SendAsync(request))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("data: [DONE]", await response.Content.ReadAsStringAsync());
        }

        // Spans stop as their work ends; the HTTP span ends once the response is done.
        List<Activity> trace = [];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            trace = [.. spans.Where(s => s.TraceId == traceId)];
            if (trace.Any(s => s.OperationName == TokenGridTracing.JobSpan) && trace.Any(s => s.Source.Name == "Microsoft.AspNetCore"))
            {
                break;
            }

            await Task.Delay(50);
        }

        var http = Assert.Single(trace, s => s.Source.Name == "Microsoft.AspNetCore");
        Assert.Equal(remoteParent, http.ParentSpanId);
        var job = Assert.Single(trace, s => s.OperationName == TokenGridTracing.JobSpan);
        var admission = Assert.Single(trace, s => s.OperationName == TokenGridTracing.AdmissionSpan);
        var generation = Assert.Single(trace, s => s.OperationName == TokenGridTracing.GenerationSpan);

        Assert.True(DescendsFrom(job, http, trace), "the job span descends from the HTTP request's span");
        Assert.Equal(job.SpanId, admission.ParentSpanId);
        Assert.True(DescendsFrom(generation, job, trace), "the node's span descends from the job's span");
        Assert.Contains(trace, s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && s.DisplayName.Contains("TenantGrain", StringComparison.Ordinal));

        Assert.Equal(tenantId, job.GetTagItem("tokengrid.tenant.id"));
        Assert.Equal("succeeded", job.GetTagItem("tokengrid.outcome"));
        Assert.Equal($"{Server.SiloName}/cpu0", generation.GetTagItem("tokengrid.node.id"));
        var events = generation.Events.Select(e => e.Name).ToList();
        Assert.Equal([TokenGridTracing.FirstTokenEvent, TokenGridTracing.LastTokenEvent], events);
        Assert.True(generation.Events.First().Timestamp <= generation.Events.Last().Timestamp);
        Assert.True(job.StartTimeUtc <= generation.StartTimeUtc && generation.StartTimeUtc + generation.Duration <= job.StartTimeUtc + job.Duration);
    }

    private static bool DescendsFrom(Activity span, Activity ancestor, List<Activity> trace)
    {
        var bySpan = trace.ToDictionary(s => s.SpanId);
        for (var current = span; bySpan.TryGetValue(current.ParentSpanId, out var parent); current = parent)
        {
            if (parent.SpanId == ancestor.SpanId)
            {
                return true;
            }
        }

        return false;
    }
}
