using System.Collections.Concurrent;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>Records every <see cref="SettlementRequest"/> a tenant grain receives, on any silo of the test cluster.</summary>
public sealed class GridSettlements : IIncomingGrainCallFilter
{
    private readonly ConcurrentQueue<SettlementRequest> _requests = new();

    /// <summary>The settlement requests for <paramref name="jobId"/>, in arrival order.</summary>
    public IReadOnlyList<SettlementRequest> For(string jobId) => [.. _requests.Where(r => r.JobId == jobId)];

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.Request.GetArgumentCount() == 1 && context.Request.GetArgument(0) is SettlementRequest request)
        {
            _requests.Enqueue(request);
        }

        return context.Invoke();
    }
}
