using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.Serving;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// A job is cancelled when its client goes away, even when the reply's own reads unwind first. An aborted request runs
/// its callbacks last registered first, so a reader registered after the job's cancellation can dispose that
/// registration before it ran; the job then ran on to its end and was charged for tokens nobody received (seen once in
/// about 200 disconnected streams of three choices).
/// </summary>
public sealed class DisconnectCancellationTests
{
    [Fact]
    public async Task A_job_whose_request_is_aborted_is_cancelled_even_when_its_registration_is_disposed_first()
    {
        await using var server = await TokenGridServer.StartAsync(new Dictionary<string, string> { ["TokenGrid:Models:DemoSpec:ContextLength"] = "4096" });
        var (_, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);
        var submitted = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "A long story.", max_tokens = 4000, ignore_eos = true }))
            .ReadJsonAsync(HttpStatusCode.Accepted);
        var id = submitted["id"]!.GetValue<string>();
        var job = server.Services.GetRequiredService<IGrainFactory>().GetGrain<IJobGrain>(id);

        // The request's abort runs the later registration first: it disposes the job's, as a reply unwinding would.
        using var aborted = new CancellationTokenSource();
        var http = new DefaultHttpContext { RequestAborted = aborted.Token, RequestServices = server.Services };
        var cancellation = JobOutput.CancelOnDisconnect(job, http);
        using var unwinding = aborted.Token.Register(cancellation.Dispose);
        await aborted.CancelAsync();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        JobInfo? info;
        while ((info = await job.GetAsync()) is not { IsFinished: true })
        {
            Assert.True(DateTime.UtcNow < deadline, "The job did not end.");
            await Task.Delay(50);
        }

        Assert.Equal((JobStatus.Cancelled, "The client disconnected."), (info.Status, info.Error));
        Assert.True(info.CompletionTokens < 4000);
    }
}
