using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGrid.Inference.Engine;

namespace TokenGrid.Benchmarks.Grid;

/// <summary>
/// A measuring instrument, not a product path: an engine behind the thinnest HTTP server that streams what the
/// benchmark's clients read, with no grains, authentication, admission, ledger or job records. Kestrel parses each
/// <c>/v1/completions</c> body, the engine runs it, and its tokens go out as server-sent events at the grid's pacing
/// (the first at once, then at most one event per stream interval), ending with the usage and <c>[DONE]</c>.
/// </summary>
/// <remarks>
/// Served to the grid's own clients on the same cores, it is the best any server of this engine can do here: the
/// engine alone over it (<c>floor_vs_engine_32_small</c>) is the bound that HTTP, SSE and the benchmark's clients set
/// on <c>grid_vs_engine_32_small</c>, and the grid over it (<c>grid_vs_floor_32_small</c>) is what the grid's own path
/// costs. It is no upper bound on a bigger machine, where the clients run elsewhere and serving has cores of its own.
/// </remarks>
internal sealed class HttpFloor : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpFloor(WebApplication app) => _app = app;

    /// <summary>
    /// Starts the server on a free local port, streaming tokens every <paramref name="interval"/>; each request goes to
    /// the one of <paramref name="engines"/> with the fewest requests in flight.
    /// </summary>
    public static async Task<HttpFloor> StartAsync(IReadOnlyList<InferenceEngine> engines, TimeSpan interval)
    {
        var inFlight = new int[engines.Count];
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapPost("/v1/completions", async (HttpContext context) =>
        {
            int chosen;
            lock (inFlight)
            {
                chosen = Array.IndexOf(inFlight, inFlight.Min());
                inFlight[chosen]++;
            }

            try
            {
                await CompleteAsync(context, engines[chosen], interval);
            }
            finally
            {
                lock (inFlight)
                {
                    inFlight[chosen]--;
                }
            }
        });
        await app.StartAsync();
        return new HttpFloor(app);
    }

    /// <summary>A client of the server, as the grid's clients are made.</summary>
    public HttpClient Client()
    {
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(5) };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task CompleteAsync(HttpContext context, InferenceEngine engine, TimeSpan interval)
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var prompt = body.RootElement.GetProperty("prompt").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var maxTokens = body.RootElement.GetProperty("max_tokens").GetInt32();
        var stream = engine.Submit(new GenerationRequest { PromptTokens = prompt, MaxTokens = maxTokens }, context.RequestAborted).Stream
            ?? throw new InvalidOperationException("The engine refused a benchmark request.");

        context.Response.ContentType = "text/event-stream";
        var pending = new StringBuilder();
        var lastWrite = 0L;
        await foreach (var token in stream.WithCancellation(context.RequestAborted))
        {
            pending.Append(token.Text);
            if (lastWrite == 0 || Stopwatch.GetElapsedTime(lastWrite) >= interval)
            {
                await WriteAsync(context.Response, new { choices = new[] { new { index = 0, text = pending.ToString() } } });
                pending.Clear();
                lastWrite = Stopwatch.GetTimestamp();
            }
        }

        var result = await stream.Completion;
        if (pending.Length > 0)
        {
            await WriteAsync(context.Response, new { choices = new[] { new { index = 0, text = pending.ToString() } } });
        }

        await WriteAsync(context.Response, new
        {
            choices = Array.Empty<object>(),
            usage = new { prompt_tokens = result.PromptTokens, completion_tokens = result.CompletionTokens },
        });
        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    private static async Task WriteAsync(HttpResponse response, object data)
    {
        await response.WriteAsync($"data: {JsonSerializer.Serialize(data)}\n\n");
        await response.Body.FlushAsync();
    }
}
