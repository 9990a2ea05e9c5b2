using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TokenGrid.Grains.Jobs.Retention;

/// <summary>Runs this silo's <see cref="JobContentSweeper"/> every <see cref="JobRetentionOptions.SweepInterval"/> (on the app's clock).</summary>
internal sealed partial class JobRetentionService(
    JobContentSweeper sweeper, IOptions<JobRetentionOptions> options, TimeProvider timeProvider, ILogger<JobRetentionService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await sweeper.SweepAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The database may be restarting: the next tick tries again.
                    LogSweepFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 1332, Level = LogLevel.Warning, Message = "A sweep of expired job content failed; the next one retries")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
