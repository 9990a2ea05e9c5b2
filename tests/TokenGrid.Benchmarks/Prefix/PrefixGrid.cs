using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using TokenGrid.Benchmarks.Grid;

namespace TokenGrid.Benchmarks.Prefix;

/// <summary>
/// The <c>prefix</c> workload over HTTP on a grid of several nodes (one process, one CPU device per node): prefix-aware
/// placement against load-only placement, two grids side by side, rounds (turns) interleaved. Each of the workload's
/// tenants is a real tenant with its own key, so each has its own cache scope. Every turn of every conversation is
/// streamed at once with OpenAI's default sampling; the usage of each stream says how many prompt tokens were cached.
/// A turn after the first is a hit when its node held the conversation's whole previous prompt (every full block of it):
/// the history it resends was found where it ran. Load-only placement finds it about once in N.
/// </summary>
internal sealed class PrefixGrid : IAsyncDisposable
{
    private const string AdminKey = "tg-bench-admin-0123456789";
    private const int BlockTokens = 16;
    private readonly WebApplication _app;
    private readonly HttpClient _admin;
    private readonly List<HttpClient> _tenants = [];
    private int _turns;
    private int _hits;
    private long _promptTokens;
    private long _cachedTokens;
    private long _completionTokens;
    private TimeSpan _elapsed;

    private PrefixGrid(WebApplication app)
    {
        _app = app;
        _admin = GridBenchmark.Client(app);
        _admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
    }

    /// <summary>Hits over turns after the first.</summary>
    public double HitRate => _turns == 0 ? 0 : (double)_hits / _turns;

    /// <summary>Cached prompt tokens over prompt tokens, every turn.</summary>
    public double CachedShare => _promptTokens == 0 ? 0 : (double)_cachedTokens / _promptTokens;

    /// <summary>Completion tokens per second over the turns, end to end.</summary>
    public double TokensPerSecond => _completionTokens / _elapsed.TotalSeconds;

    /// <summary>A grid of <paramref name="nodes"/> nodes with <paramref name="settings"/>, and the workload's tenants.</summary>
    public static async Task<PrefixGrid> StartAsync(int nodes, int portOffset, int tenants, params string[] settings)
    {
        var app = await GridBenchmark.StartGridAsync(
            [.. Enumerable.Range(0, nodes).Select(i => $"cpu{i}")], intraOpThreads: 1, portOffset,
            ["--TokenGrid:Models:DemoSpec:ContextLength", $"{PrefixBenchmark.Spec.ContextLength}", .. settings]);
        var grid = new PrefixGrid(app);
        for (var t = 0; t < tenants; t++)
        {
            grid._tenants.Add(await grid.TenantAsync($"chat-{t}"));
        }

        return grid;
    }

    /// <summary>Turn <paramref name="turn"/> of every conversation, all at once.</summary>
    public async Task TurnAsync(Conversations conversations, int turn, int reply, bool measure)
    {
        var clock = Stopwatch.StartNew();
        var usages = await Task.WhenAll(conversations.All.Select(c => StreamAsync(
            _tenants[c.Tenant], conversations.Prompt(c.Tenant, c.Conversation, turn), reply)));
        var elapsed = clock.Elapsed;
        if (!measure)
        {
            return;
        }

        _elapsed += elapsed;
        var all = conversations.All.ToList();
        for (var i = 0; i < all.Count; i++)
        {
            var usage = usages[i];
            _promptTokens += usage.Prompt;
            _cachedTokens += usage.Cached;
            _completionTokens += usage.Completion;
            if (turn > 0)
            {
                _turns++;
                var previous = conversations.Prompt(all[i].Tenant, all[i].Conversation, turn - 1).Length;
                _hits += usage.Cached >= previous / BlockTokens * BlockTokens ? 1 : 0;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var tenant in _tenants)
        {
            tenant.Dispose();
        }

        _admin.Dispose();
        await _app.DisposeAsync();
    }

    private static async Task<(int Prompt, int Cached, int Completion)> StreamAsync(HttpClient http, int[] prompt, int reply)
    {
        var usage = await GridBenchmark.StreamUsageAsync(http, new
        {
            model = "demo",
            prompt,
            max_tokens = reply,
            stream = true,
            stream_options = new { include_usage = true },
        });
        return (
            usage["prompt_tokens"]!.GetValue<int>(),
            usage["prompt_tokens_details"]?["cached_tokens"]?.GetValue<int>() ?? 0,
            usage["completion_tokens"]!.GetValue<int>());
    }

    /// <summary>Creates tenant <paramref name="id"/> with limits far above the workload and returns a client with its key.</summary>
    private async Task<HttpClient> TenantAsync(string id)
    {
        using var created = await _admin.PostAsJsonAsync("/admin/tenants", new
        {
            id,
            name = id,
            budget = new { tokens_per_minute = 1_000_000_000, requests_per_minute = 1_000_000, max_concurrent_jobs = 1000, period_quota = 1_000_000_000_000 },
        });
        created.EnsureSuccessStatusCode();
        using var issued = await _admin.PostAsJsonAsync($"/admin/tenants/{id}/keys", new { name = "bench" });
        issued.EnsureSuccessStatusCode();
        var secret = (await issued.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
        var client = new HttpClient { BaseAddress = _admin.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return client;
    }
}
