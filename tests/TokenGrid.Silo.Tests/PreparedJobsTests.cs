using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TokenGrid.Silo.Serving;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// Issue 14: a request takes a job grain that was activated before it came (<see cref="PreparedJobs"/>), so it does not
/// wait for Orleans to place and activate a new grain, and one more is prepared in its place.
/// </summary>
public sealed class PreparedJobsTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_request_takes_a_job_grain_activated_before_it_came_and_one_is_prepared_in_its_place()
    {
        var calls = new JobGrainCalls();
        await using var server = await TokenGridServer.StartAsync(
            new Dictionary<string, string> { ["TokenGrid:Api:PreparedJobs"] = "1" }, services: s => s.AddSingleton<IIncomingGrainCallFilter>(calls));
        var prepared = Watch(server);
        var (_, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);

        // The first request finds none ready: its grain is new, and it leaves one prepared.
        var first = await CompleteAsync(client);
        Assert.Equal("SubmitAsync", calls.Of(first)[0]);
        var ready = await prepared.Ids.Reader.ReadAsync().AsTask().WaitAsync(s_wait);
        Assert.NotEqual(first, ready);
        Assert.Equal(["GetAsync"], calls.Of(ready));

        // The next request's job is that grain, active before the request was sent; a new one takes its place.
        var second = await CompleteAsync(client);
        Assert.Equal(ready, second);
        Assert.Equal(["GetAsync", "SubmitAsync"], calls.Of(second)[..2]);
        var next = await prepared.Ids.Reader.ReadAsync().AsTask().WaitAsync(s_wait);
        Assert.NotEqual(second, next);
        Assert.Equal(1, prepared.Pool.Ready);
    }

    [Fact]
    public async Task An_id_older_than_its_idle_limit_is_dropped_and_the_pool_never_outgrows_its_size()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero));
        await using var server = await TokenGridServer.StartAsync(new Dictionary<string, string> { ["TokenGrid:Api:PreparedJobs"] = "2" }, time);
        var prepared = Watch(server);
        var (_, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);

        // A burst larger than the pool: every request is served, and no more than its size is ever ready.
        var burst = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => CompleteAsync(client)));
        Assert.Equal(burst.Length, burst.Distinct().Count());
        // Once both places are ready, nothing is being prepared.
        var ready = new List<string>();
        while (prepared.Pool.Ready < 2)
        {
            ready.Add(await prepared.Ids.Reader.ReadAsync().AsTask().WaitAsync(s_wait));
        }

        Assert.InRange(prepared.MostReady, 1, 2);

        // Left longer than an id may wait: the next request makes its own id (its time is now) and drops every ready one,
        // which are not replaced, so the pool shrinks to the one prepared in the request's place.
        time.Advance(PreparedJobs.MaxIdle + TimeSpan.FromMilliseconds(1));
        await server.RefreshNodesAsync();
        var job = await CompleteAsync(client);
        Assert.DoesNotContain(job, burst);
        Assert.DoesNotContain(job, ready);
        Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds(), long.Parse(job["job_".Length..("job_".Length + 12)], NumberStyles.HexNumber));
        await prepared.Ids.Reader.ReadAsync().AsTask().WaitAsync(s_wait);
        Assert.Equal(1, prepared.Pool.Ready);
    }

    [Fact]
    public async Task With_none_prepared_each_job_grain_is_first_called_by_its_submission()
    {
        var calls = new JobGrainCalls();
        await using var server = await TokenGridServer.StartAsync(
            new Dictionary<string, string> { ["TokenGrid:Api:PreparedJobs"] = "0" }, services: s => s.AddSingleton<IIncomingGrainCallFilter>(calls));
        var (_, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);

        var jobs = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => CompleteAsync(client)));
        Assert.All(jobs, job => Assert.Equal("SubmitAsync", calls.Of(job)[0]));
        Assert.Equal(0, server.Services.GetRequiredService<PreparedJobs>().Ready);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("4097")]
    public async Task A_pool_size_out_of_range_stops_the_host_at_start(string size)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TokenGridServer.StartAsync(new Dictionary<string, string> { ["TokenGrid:Api:PreparedJobs"] = size }));
        Assert.Contains("prepared jobs", error.Message);
    }

    /// <summary>A completion of two tokens; its job id.</summary>
    private static async Task<string> CompleteAsync(HttpClient client)
    {
        var reply = await client.PostOkAsync("v1/completions", $$"""{"model":"{{TokenGridServer.Model}}","prompt":"Hello","max_tokens":2}""");
        return reply["id"]!.GetValue<string>()["cmpl-".Length..];
    }

    private static PreparedWatch Watch(TokenGridServer server)
    {
        var watch = new PreparedWatch(server.Services.GetRequiredService<PreparedJobs>());
        watch.Pool.Prepared += id =>
        {
            InterlockedMax(ref watch.MostReady, watch.Pool.Ready);
            watch.Ids.Writer.TryWrite(id);
        };
        return watch;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private sealed class PreparedWatch(PreparedJobs pool)
    {
        public PreparedJobs Pool { get; } = pool;

        public Channel<string> Ids { get; } = Channel.CreateUnbounded<string>();

        public int MostReady;
    }

    /// <summary>The methods each job grain was called with, in the order the calls came (timer ticks aside).</summary>
    private sealed class JobGrainCalls : IIncomingGrainCallFilter
    {
        private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _calls = new(StringComparer.Ordinal);

        public Task Invoke(IIncomingGrainCallContext context)
        {
            var id = context.TargetContext.GrainId;
            if (id.Type.ToString() == "job" && !context.InterfaceName.Contains("Timer", StringComparison.Ordinal))
            {
                _calls.GetOrAdd(id.Key.ToString()!, _ => new()).Enqueue(context.MethodName);
            }

            return context.Invoke();
        }

        public string[] Of(string jobId) => _calls.TryGetValue(jobId, out var calls) ? [.. calls] : [];
    }
}
