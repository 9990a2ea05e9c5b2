using System.CommandLine;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Benchmarks.Grid;

/// <summary>
/// The grid workload (32 streaming clients over HTTP, as <see cref="GridBenchmark"/>) with metrics and tracing on
/// against both off, in the same run. "On" is what production pays: every meter collected, /metrics scraped every
/// second, Orleans' activity propagation and every span exported over OTLP/HTTP to a local collector that accepts them.
/// The modes alternate, one grid at a time, so neither sees the other's listeners.
/// </summary>
public static class MetricsOverheadBenchmark
{
    private static readonly Option<int> s_rounds = BenchmarkCommand.Int("--rounds", 3, "Interleaved rounds; medians are reported.");
    private static readonly Option<int> s_tokens = BenchmarkCommand.Int("--tokens", 64, "New tokens per request.");
    private static readonly Option<int> s_prompt = BenchmarkCommand.Int("--prompt", 16, "Prompt length in tokens.");
    private static readonly Option<int> s_clients = BenchmarkCommand.Int("--clients", 32, "Concurrent streaming clients.");

    /// <summary>The <c>metrics</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "metrics", "The grid workload with metrics and tracing on against both off.", RunAsync, s_rounds, s_tokens, s_prompt, s_clients);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var rounds = args.GetValue(s_rounds);
        var newTokens = args.GetValue(s_tokens);
        var promptLength = args.GetValue(s_prompt);
        var clients = args.GetValue(s_clients);
        var directory = DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, DemoModelSpec.Default);
        List<int[]> prompts;
        using (var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu }))
        {
            prompts = Workload.Prompts(model, clients, promptLength);
        }

        await using var collector = await OtlpSink.StartAsync();
        var on = new List<double>();
        var off = new List<double>();
        var start = 0;
        for (var round = 0; round < rounds; round++)
        {
            // Alternate which mode goes first, so drift over the run falls on both.
            foreach (var telemetry in round % 2 == 0 ? new[] { false, true } : [true, false])
            {
                var rate = await MeasureAsync(telemetry ? collector.Endpoint : null, start++, prompts, newTokens);
                (telemetry ? on : off).Add(rate);
            }
        }

        return new BenchmarkReport("metrics")
            .Add("processors", Environment.ProcessorCount)
            .Add("rounds", rounds)
            .Add("clients", clients)
            .Add("new_tokens", newTokens)
            .Add("prompt_tokens", promptLength)
            .Add("grid_metrics_off_tokens_per_s", Stats.Median(off))
            .Add("grid_metrics_on_tokens_per_s", Stats.Median(on))
            .Add("otlp_exports", collector.Exports)
            .Add("metrics_on_vs_off", Stats.Median(on) / Stats.Median(off));
    }

    /// <summary>
    /// Starts a grid with telemetry on (spans to <paramref name="otlp"/>) or off, warms it up with one full run and returns
    /// the median of three measured runs.
    /// </summary>
    private static async Task<double> MeasureAsync(Uri? otlp, int index, List<int[]> prompts, int newTokens)
    {
        var telemetry = otlp is not null;
        List<string> settings =
        [
            "--TokenGrid:Telemetry:Metrics", telemetry ? "true" : "false",
            "--TokenGrid:Telemetry:Tracing", telemetry ? "true" : "false",
        ];
        if (otlp is not null)
        {
            settings.AddRange(["--TokenGrid:Telemetry:Otlp:Endpoint", otlp.ToString(), "--TokenGrid:Telemetry:Otlp:Protocol", "HttpProtobuf"]);
        }

        // Ports after the grid scenario's, so both can run in one process.
        await using var app = await GridBenchmark.StartGridAsync(["cpu0"], intraOpThreads: 0, portOffset: 100 + index, [.. settings]);
        using var http = GridBenchmark.Client(app);
        var address = http.BaseAddress!.ToString();
        using var scraping = new CancellationTokenSource();
        var scraper = telemetry ? ScrapeAsync(address, scraping.Token) : Task.CompletedTask;
        // A full warm-up run first: what the first run JITs (more with telemetry on) is start-up, not overhead.
        await GridBenchmark.StreamAllAsync(http, prompts, newTokens);
        var rates = new List<double>();
        for (var run = 0; run < 3; run++)
        {
            rates.Add(await Workload.RateAsync(() => GridBenchmark.StreamAllAsync(http, prompts, newTokens)));
        }

        var rate = Stats.Median(rates);
        await scraping.CancelAsync();
        await scraper;
        await app.StopAsync();
        return rate;
    }

    /// <summary>Reads /metrics every second, as a Prometheus server with a 1 s scrape interval would.</summary>
    private static async Task ScrapeAsync(string address, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                using var response = await http.GetAsync("/metrics", cancellationToken);
                response.EnsureSuccessStatusCode();
                await response.Content.ReadAsByteArrayAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // The measurement ended.
        }
    }

    /// <summary>A local OTLP/HTTP collector that accepts every export (an empty protobuf response is a full success).</summary>
    private sealed class OtlpSink : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private long _exports;

        private OtlpSink(WebApplication app) => _app = app;

        public Uri Endpoint { get; private set; } = null!;

        public long Exports => Interlocked.Read(ref _exports);

        public static async Task<OtlpSink> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning"] });
            var app = builder.Build();
            var sink = new OtlpSink(app);
            app.MapPost("/v1/traces", async (HttpRequest request) =>
            {
                await request.Body.CopyToAsync(Stream.Null);
                Interlocked.Increment(ref sink._exports);
                return Results.Bytes([], "application/x-protobuf");
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            sink.Endpoint = new Uri(address.TrimEnd('/') + "/");
            return sink;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
