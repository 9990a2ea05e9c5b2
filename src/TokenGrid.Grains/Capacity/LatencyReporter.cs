using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Capacity;

namespace TokenGrid.Grains.Capacity;

/// <summary>
/// Sends this silo's latency histograms to the capacity grain every <see cref="CapacityOptions.LatencyReportPeriod"/>
/// while the silo is active. The first send also activates the capacity grain, so it samples the nodes (and learns their
/// peak rates) from the cluster's start rather than from the first dashboard visit.
/// </summary>
internal sealed partial class LatencyReporter(
    LatencyRecorder recorder,
    IGrainFactory grainFactory,
    ILocalSiloDetails silo,
    IOptions<CapacityOptions> options,
    ILogger<LatencyReporter> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(LatencyReporter), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = new CancellationTokenSource();
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is null || _loop is null)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(options.Value.LatencyReportPeriod);
        var grain = grainFactory.GetGrain<ICapacityGrain>(0);
        do
        {
            try
            {
                await grain.ReportLatencyAsync(silo.Name, recorder.Snapshot()).WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The capacity grain may be moving (its silo died); the next period tries again.
                LogReportFailed(logger, e);
            }
        }
        while (await WaitAsync(timer, stopping).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stopping)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Debug, Message = "Latency report to the capacity grain failed")]
    private static partial void LogReportFailed(ILogger logger, Exception exception);
}
