using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Grains.Nodes;

/// <summary>
/// Starts this silo's node grains once the silo is active, so they report without waiting for a request, and takes
/// them out of the registry first thing when the silo stops, so no new job is sent to them.
/// </summary>
internal sealed partial class NodeStartup(NodeRuntime runtime, IGrainFactory grainFactory, ILogger<NodeStartup> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(NodeStartup), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var device in runtime.Devices)
        {
            try
            {
                await grainFactory.GetGrain<INodeGrain>(device.NodeId).StartAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The silo stays up: its node's grain starts on the first request and reports from then on.
                LogStartFailed(logger, e, device.NodeId);
            }
        }
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        var registry = grainFactory.GetGrain<INodeRegistryGrain>(0);
        foreach (var device in runtime.Devices)
        {
            try
            {
                await registry.RemoveAsync(device.NodeId).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Its reports go stale within a few periods anyway.
                LogRemoveFailed(logger, e, device.NodeId);
            }
        }
    }
}
