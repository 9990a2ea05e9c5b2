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
/// benchmark's clients read, with no authentication, admission, ledger or job records. Kestrel parses each
/// <c>/v1/completions</c> body, the engine runs it, and its tokens go out as server-sent events at the grid's pacing
/// (<see cref="FloorEngines"/>), ending with the usage and <c>[DONE]</c>. Along <see cref="FloorPath.Direct"/> the HTTP
/// handler reads the engine itself; along the grain paths, through one grain of a silo in the same process.
/// </summary>
/// <remarks>
/// Served to the grid's own clients on the same cores, the direct floor is the best any server of this engine can do
/// here: the engine alone over it (<c>floor_vs_engine_32_small</c>) is the bound that HTTP, SSE and the benchmark's
/// clients set on <c>grid_vs_engine_32_small</c>. The grain floors add what the grid's architecture cannot do without
/// (a grain between the HTTP path and the tokens; a grain per request, as each job is one) and nothing else, so the
/// engine alone over them is the bound of any design that keeps it. None is an upper bound on a bigger machine, where
/// the clients run elsewhere and serving has cores of its own.
/// </remarks>
internal sealed class HttpFloor : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpFloor(WebApplication app) => _app = app;

    /// <summary>
    /// Starts the server on a free local port, streaming tokens every <paramref name="interval"/>; each request goes to
    /// the one of <paramref name="engines"/> with the fewest requests in flight, along <paramref name="path"/> (through a
    /// grain of an in-process silo of its own, or not).
    /// </summary>
    public static async Task<HttpFloor> StartAsync(IReadOnlyList<InferenceEngine> engines, TimeSpan interval, FloorPath path = FloorPath.Direct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(new FloorEngines(engines, interval));
        if (path != FloorPath.Direct)
        {
            var offset = (int)path;
            builder.UseOrleans(silo => silo.UseLocalhostClustering(11511 + offset, 31511 + offset, serviceId: "floor", clusterId: $"floor-{offset}"));
        }

        var app = builder.Build();
        app.MapPost("/v1/completions", (HttpContext context) => CompleteAsync(context, path));
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

    private static async Task CompleteAsync(HttpContext context, FloorPath path)
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var prompt = body.RootElement.GetProperty("prompt").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var maxTokens = body.RootElement.GetProperty("max_tokens").GetInt32();
        var services = context.RequestServices;
        var chunks = path switch
        {
            FloorPath.Direct => services.GetRequiredService<FloorEngines>().GenerateAsync(prompt, maxTokens, context.RequestAborted),
            FloorPath.SharedGrain => services.GetRequiredService<IGrainFactory>().GetGrain<IFloorStreamGrain>(Guid.Empty).GenerateAsync(prompt, maxTokens, admitted: false),
            _ => services.GetRequiredService<IGrainFactory>().GetGrain<IFloorStreamGrain>(Guid.NewGuid())
                .GenerateAsync(prompt, maxTokens, admitted: path == FloorPath.AdmittedGrainPerRequest),
        };

        context.Response.ContentType = "text/event-stream";
        await foreach (var chunk in chunks.WithCancellation(context.RequestAborted))
        {
            await WriteAsync(context.Response, chunk.Final
                ? (object)new { choices = Array.Empty<object>(), usage = new { prompt_tokens = chunk.PromptTokens, completion_tokens = chunk.CompletionTokens } }
                : new { choices = new[] { new { index = 0, text = chunk.Text } } });
        }

        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    private static async Task WriteAsync(HttpResponse response, object data)
    {
        await response.WriteAsync($"data: {JsonSerializer.Serialize(data)}\n\n");
        await response.Body.FlushAsync();
    }
}
