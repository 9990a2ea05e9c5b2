using TokenGrid.Abstractions.Scheduling;

namespace TokenGrid.Grains.Nodes;

public sealed partial class NodeGrain
{
    /// <inheritdoc />
    public async Task DrainAsync()
    {
        if (!_device.Draining)
        {
            _device.Draining = true;
            LogDraining(logger, Id, _device.Models.Snapshot().Leases);
        }

        // Tell the registry now, not at the next period, and then the dispatchers of this node's models, which place
        // from their own copy of the registry: no dispatcher picks this node once the drain has returned. (A dispatcher
        // that had refreshed just before would otherwise place a new job here again after each refusal, until the job
        // gave up as refused.)
        await ReportAsync(CancellationToken.None);
        await RefreshDispatchersAsync();
    }

    /// <inheritdoc />
    public async Task ResumeAsync()
    {
        if (_device.Draining)
        {
            _device.Draining = false;
            LogResumed(logger, Id);
        }

        // The dispatchers place waiting jobs here at once, not at their next refresh.
        await ReportAsync(CancellationToken.None);
        await RefreshDispatchersAsync();
    }

    private async Task RefreshDispatchersAsync()
    {
        await Task.WhenAll(_device.Models.Served.Select(async model =>
        {
            try
            {
                await GrainFactory.GetGrain<IModelDispatcherGrain>(model).RefreshAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogDispatcherRefreshFailed(logger, e, Id, model);
            }
        }));
    }
}
