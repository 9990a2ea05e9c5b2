using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Silo.Tests.Support;
using static TokenGrid.Silo.Tests.Support.RetentionSteps;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// Issue 15: on the postgres profile nothing calls a job grain after its end (not the node, the dispatcher, nor the
/// retention sweep deleting its content), so Orleans' idle collection alone decides when it leaves memory
/// (<c>JobLifetimeOptions</c>). A call there would restart the job's idle age and keep it for another grace.
/// </summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class PostgresFinishedJobCallsTests
{
    [Fact]
    public async Task Nothing_calls_a_finished_job_grain_not_even_the_sweep_that_deletes_its_content()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero));
        var calls = new JobGrainCalls();
        await using var server = await TokenGridServer.StartAsync(
            Settings(PostgresSilo.Settings(database.ConnectionString)), time, services => services.AddSingleton<IIncomingGrainCallFilter>(calls));
        var (_, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);

        // A chat, a streamed chat and an async job, each read to its end (one watch each, which its reader disposes).
        string[] jobs = [await RunChatAsync(client), await RunStreamedChatAsync(client), (await RunAsyncJobAsync(client))["id"]!.GetValue<string>()];
        await calls.WatchesDisposed(jobs.Length).WaitAsync(TimeSpan.FromSeconds(30));
        var atTheirEnd = calls.Snapshot(jobs);
        Assert.All(jobs, job => Assert.True(atTheirEnd[job] > 0, $"no call to {job} was seen"));

        // What runs by itself afterwards: the node's report, the dispatcher's refresh, and the sweep once content expires.
        await server.RefreshNodesAsync();
        await server.Grains.GetGrain<IModelDispatcherGrain>(TokenGridServer.Model).RefreshAsync();
        time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromSeconds(1));
        Assert.Equal(jobs.Length, (await SweepAsync(server)).Jobs);

        Assert.Equal(atTheirEnd, calls.Snapshot(jobs));
    }

    private static async Task<string> RunStreamedChatAsync(HttpClient client)
    {
        using var response = await client.PostJsonAsync("v1/chat/completions", new
        {
            model = TokenGridServer.Model,
            messages = new[] { new { role = "user", content = "Hello, streamed." } },
            max_tokens = 4,
            stream = true,
        });
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        string? id = null;
        while (await events.ReadAsync() is { } e && e.Data != "[DONE]")
        {
            id ??= JsonNode.Parse(e.Data)!["id"]!.GetValue<string>()["chatcmpl-".Length..];
        }

        return id ?? throw new InvalidOperationException("The stream sent no chunk.");
    }

    /// <summary>Counts the calls (timer ticks aside) that reach each job grain, and the watches disposed.</summary>
    private sealed class JobGrainCalls : IIncomingGrainCallFilter
    {
        private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
        private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _watchesDisposed;
        private int _awaited = int.MaxValue;

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            await context.Invoke();
            var id = context.TargetContext.GrainId;
            if (id.Type.ToString() != "job" || context.InterfaceName.Contains("Timer", StringComparison.Ordinal))
            {
                return;
            }

            _calls.AddOrUpdate(id.Key.ToString()!, 1, (_, n) => n + 1);
            if (context.MethodName == "DisposeAsync" && Interlocked.Increment(ref _watchesDisposed) >= Volatile.Read(ref _awaited))
            {
                _disposed.TrySetResult();
            }
        }

        public Task WatchesDisposed(int count)
        {
            Volatile.Write(ref _awaited, count);
            if (Volatile.Read(ref _watchesDisposed) >= count)
            {
                _disposed.TrySetResult();
            }

            return _disposed.Task;
        }

        public Dictionary<string, int> Snapshot(IEnumerable<string> jobs) => jobs.ToDictionary(j => j, j => _calls.GetValueOrDefault(j), StringComparer.Ordinal);
    }
}
