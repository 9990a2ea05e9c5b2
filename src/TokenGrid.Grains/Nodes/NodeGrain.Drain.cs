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

        // Tell the registry now, not at the next period: no dispatcher should pick this node from here on.
        await ReportAsync(CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task ResumeAsync()
    {
        if (_device.Draining)
        {
            _device.Draining = false;
            LogResumed(logger, Id);
        }

        await ReportAsync(CancellationToken.None);
    }
}
