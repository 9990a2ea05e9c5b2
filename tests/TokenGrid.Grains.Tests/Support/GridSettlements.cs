using System.Collections.Concurrent;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>Records every <see cref="SettlementRequest"/> a tenant grain receives, on any silo of the test cluster.</summary>
public sealed class GridSettlements : IIncomingGrainCallFilter
{
    private readonly ConcurrentQueue<SettlementRequest> _requests = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _settled = new();

    /// <summary>The settlement requests for <paramref name="jobId"/>, in arrival order.</summary>
    public IReadOnlyList<SettlementRequest> For(string jobId) => [.. _requests.Where(r => r.JobId == jobId)];

    /// <summary>Completes once a tenant grain has handled a settlement request for <paramref name="jobId"/>.</summary>
    public Task SettledAsync(string jobId) => Settled(jobId).Task;

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.Request.GetArgumentCount() == 1 && context.Request.GetArgument(0) is SettlementRequest request)
        {
            _requests.Enqueue(request);
            await context.Invoke();
            Settled(request.JobId).TrySetResult();
            return;
        }

        await context.Invoke();
    }

    private TaskCompletionSource Settled(string jobId) =>
        _settled.GetOrAdd(jobId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
