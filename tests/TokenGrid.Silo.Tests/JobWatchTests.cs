using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>The job watch (<c>GET /v1/jobs/{id}/events</c>), written by ASP.NET Core's server-sent events result.</summary>
public sealed class JobWatchTests
{
    [Fact]
    public async Task A_watcher_that_leaves_mid_job_logs_no_error_and_the_job_goes_on()
    {
        var log = new ErrorLogCapture();
        var server = await TokenGridServer.StartAsync(
            new Dictionary<string, string> { ["TokenGrid:Models:DemoSpec:ContextLength"] = "4096" },
            services: services => services.AddSingleton<ILoggerProvider>(log));
        await using (server)
        {
            var (_, key) = await server.CreateTenantAsync();
            using var client = server.Client(key);
            var job = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Tell me a long story.", max_tokens = 800 }))
                .ReadJsonAsync(HttpStatusCode.Accepted);
            var events = $"v1/jobs/{job["id"]}/events";

            // The first watcher reads one text event, then goes away without reading the rest.
            using (var response = await client.GetAsync(events, HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
                using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
                while (await reader.ReadAsync() is { } e && e.Event != "tokens")
                {
                }

                Assert.NotNull(reader.LastEventId);
            }

            // A second watcher, resuming after sequence 1, sees the job to its end: the first one's leaving did not end it.
            using var request = new HttpRequestMessage(HttpMethod.Get, events);
            request.Headers.Add("Last-Event-ID", "1");
            using var again = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var rest = new SseReader(await again.Content.ReadAsStreamAsync());
            JsonObject? final = null;
            while (await rest.ReadAsync() is { } e)
            {
                var data = JsonNode.Parse(e.Data)!.AsObject();
                Assert.True(data["sequence"]!.GetValue<long>() > 1);
                Assert.Equal(rest.LastEventId, data["sequence"]!.ToJsonString());
                final = e.Event == "status" ? data["job"]!.AsObject() : final;
            }

            Assert.Equal("succeeded", final?["status"]?.GetValue<string>());

            // A watcher past the end (any id, even the largest) gets the final status, with an id that follows its own,
            // never one that wrapped around to a negative number.
            using var past = new HttpRequestMessage(HttpMethod.Get, events);
            past.Headers.Add("Last-Event-ID", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var end = await client.SendAsync(past, HttpCompletionOption.ResponseHeadersRead);
            using var last = new SseReader(await end.Content.ReadAsStreamAsync());
            var status = await last.ReadAsync();
            Assert.Equal("status", status?.Event);
            Assert.True(long.Parse(last.LastEventId!, System.Globalization.CultureInfo.InvariantCulture) > 0, last.LastEventId);
            Assert.Null(await last.ReadAsync());
        }

        // The server has stopped, so every request it served has ended and logged what it would.
        Assert.Empty(log.Errors);
    }
}
