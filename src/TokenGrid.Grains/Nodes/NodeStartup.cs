using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Grains.Nodes;

/// <summary>
/// Starts this silo's node grains once the silo is active, so they report without waiting for a request. When the silo
/// stops, it drains them first: each node reports itself draining, so no dispatcher places a new job on it, and its
/// engines finish the sequences they accepted while the grains that stream them are still active (Orleans deactivates
/// grains only after this stage). The drain ends a quarter of the host's shutdown timeout (at most 30 s) before the
/// timeout, so that what stops after it (the grains' deactivation, saving their state, leaving the cluster) still stops
/// gracefully. Then the nodes leave the registry.
/// </summary>
internal sealed partial class NodeStartup(
    NodeRuntime runtime, IGrainFactory grainFactory, IOptions<HostOptions> host, IHostApplicationLifetime lifetime, TimeProvider time,
    ILogger<NodeStartup> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Most of the shutdown timeout kept from the drain for the rest of the stop.</summary>
    private static readonly TimeSpan s_maxReserve = TimeSpan.FromSeconds(30);

    // When the host began to stop (its shutdown timeout counts from there), measured on the host's stopping signal.
    private long _stopping;

    public void Participate(ISiloLifecycle lifecycle)
    {
        lifecycle.Subscribe(nameof(NodeStartup), ServiceLifecycleStage.Active, StartAsync, StopAsync);
        lifetime.ApplicationStopping.Register(OnHostStopping);
    }

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

    /// <summary>
    /// How long the drain may still take, <paramref name="sinceStopping"/> after the host began to stop with a shutdown
    /// <paramref name="timeout"/>: the timeout less what has passed and a reserve for the rest of the stop (a quarter of
    /// the timeout, at most 30 s), at least 0. Null when only the host's own token bounds it (an infinite timeout, or
    /// one longer than a timer takes, over 24 days).
    /// </summary>
    internal static TimeSpan? DrainBudget(TimeSpan timeout, TimeSpan sinceStopping)
    {
        if (timeout == Timeout.InfiniteTimeSpan || timeout.TotalMilliseconds >= int.MaxValue)
        {
            return null;
        }

        var reserve = TimeSpan.FromTicks(Math.Min(s_maxReserve.Ticks, timeout.Ticks / 4));
        return TimeSpan.FromTicks(Math.Max(0, (timeout - reserve - sinceStopping).Ticks));
    }

    /// <summary>Notes when the host began to stop: the shutdown timeout counts from then, the HTTP server's wait included.</summary>
    private void OnHostStopping() => Interlocked.CompareExchange(ref _stopping, time.GetTimestamp(), 0);

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        var since = Interlocked.Read(ref _stopping) is var stopping and > 0 ? time.GetElapsedTime(stopping) : TimeSpan.Zero;
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (DrainBudget(host.Value.ShutdownTimeout, since) is { } budget)
        {
            drain.CancelAfter(budget);
        }

        await Task.WhenAll(runtime.Devices.Select(d => DrainAsync(d, drain.Token))).ConfigureAwait(false);

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

    /// <summary>
    /// Marks the node draining (the dispatchers hear at once) and waits until its engines have finished what they accepted,
    /// queued or running. A sequence still running when the shutdown timeout passes is cut with the silo, and its job
    /// resumes on another node.
    /// </summary>
    private async Task DrainAsync(NodeDevice device, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await grainFactory.GetGrain<INodeGrain>(device.NodeId).DrainAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            var running = device.Models.Snapshot().Leases;
            await device.Models.StopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            LogDrained(logger, device.NodeId, running, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        catch (OperationCanceledException)
        {
            LogDrainCut(logger, device.NodeId, device.Models.Snapshot().Leases);
        }
        catch (Exception e)
        {
            // The silo stops all the same; the jobs the node still runs resume on other nodes.
            LogDrainFailed(logger, e, device.NodeId);
        }
    }
}
