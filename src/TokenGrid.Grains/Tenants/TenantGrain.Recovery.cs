using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Timers;
using TokenGrid.Grains.Jobs;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// The tenant as the safety net of job failover. Its open reservations are exactly the jobs admitted and not yet
/// settled, and they are saved with its state. While there are any, a reminder (stored by the reminder service, so it
/// fires on a live silo whichever silo died) wakes those jobs every <see cref="JobRecoveryOptions.RecoveryPeriod"/>:
/// a job grain that died with its silo reactivates from its checkpoint and resumes, a waiting job whose dispatcher died
/// queues again, and a job that was admitted but never saved settles for 0 tokens. No job is lost and no reservation
/// stays open.
/// </summary>
public sealed partial class TenantGrain
{
    private const string RecoveryReminder = "recover-open-jobs";
    private bool _recoveryArmed;

    /// <inheritdoc/>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!string.Equals(reminderName, RecoveryReminder, StringComparison.Ordinal))
        {
            return;
        }

        if (State.Open.Count == 0)
        {
            await DisarmRecoveryAsync();
            return;
        }

        // Jobs admitted within the last period are in the middle of starting; the next tick covers them.
        var cutoff = timeProvider.GetUtcNow() - recovery.Value.RecoveryPeriod;
        var woken = 0;
        foreach (var open in State.Open.Values.Where(o => o.AdmittedAt <= cutoff))
        {
            grainFactory.GetGrain<IJobGrain>(open.JobId).RecoverAsync(TenantId, open.Model).Ignore();
            woken++;
        }

        LogRecoveryTick(logger, TenantId, woken, State.Open.Count);
    }

    /// <summary>Registers the recovery reminder once the tenant has open jobs (where the silo has a reminder service).</summary>
    private async Task ArmRecoveryAsync()
    {
        if (_recoveryArmed || State.Open.Count == 0 || ServiceProvider.GetService<IReminderRegistry>() is null)
        {
            return;
        }

        try
        {
            var period = recovery.Value.RecoveryPeriod;
            await this.RegisterOrUpdateReminder(RecoveryReminder, period, period);
            _recoveryArmed = true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Retried at the next admission; the job's own recovery paths still work meanwhile.
            LogRecoveryReminderFailed(logger, e, TenantId);
        }
    }

    private async Task DisarmRecoveryAsync()
    {
        try
        {
            if (await this.GetReminder(RecoveryReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            _recoveryArmed = false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRecoveryReminderFailed(logger, e, TenantId);
        }
    }

    [LoggerMessage(EventId = 1111, Level = LogLevel.Debug, Message = "Tenant {TenantId} woke {Woken} of its {Open} open jobs to check their progress")]
    private static partial void LogRecoveryTick(ILogger logger, string tenantId, int woken, int open);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Tenant {TenantId} could not update its job recovery reminder")]
    private static partial void LogRecoveryReminderFailed(ILogger logger, Exception exception, string tenantId);
}
