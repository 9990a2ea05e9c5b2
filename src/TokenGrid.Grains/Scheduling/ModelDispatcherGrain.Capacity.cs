using TokenGrid.Abstractions.Capacity;

namespace TokenGrid.Grains.Scheduling;

public sealed partial class ModelDispatcherGrain
{
    /// <inheritdoc/>
    public Task<DispatcherLoad> GetLoadAsync()
    {
        var now = timeProvider.GetUtcNow();
        long queuedTokens = 0;
        double totalWait = 0;
        DateTimeOffset? oldest = null;
        foreach (var job in _queue.Jobs)
        {
            var request = job.Request;
            queuedTokens += request.MaxTokens;
            totalWait += Math.Max(0, (now - request.EnqueuedAt).TotalSeconds);
            if (oldest is null || request.EnqueuedAt < oldest)
            {
                oldest = request.EnqueuedAt;
            }
        }

        return Task.FromResult(new DispatcherLoad
        {
            Model = Model,
            Queued = _queue.Count,
            QueuedTokens = queuedTokens,
            OldestEnqueuedAt = oldest,
            TotalWaitSeconds = totalWait,
            DispatchesPerSecond = _drain.Rate(now),
            RunningByNode = _nodes.Values.Where(n => n.Running > 0).ToDictionary(n => n.NodeId, n => n.Running, StringComparer.Ordinal),
            SlotsByNode = _nodes.Values.Where(n => n.Report is { Draining: false }).ToDictionary(n => n.NodeId, n => n.Slots, StringComparer.Ordinal),
            TokensGenerated = _tenants.Values.Sum(t => t.TokensGenerated),
            At = now,
        });
    }
}
