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

    /// <summary>Whether the reminder is registered, as far as this activation knows (null: not known yet).</summary>
    private bool? _recoveryArmed;

    /// <summary>The reconciliation in progress, which callers join rather than registering again.</summary>
    private Task? _recoverySync;

    /// <inheritdoc/>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!string.Equals(reminderName, RecoveryReminder, StringComparison.Ordinal))
        {
            return;
        }

        // It ticked, so it is registered, whatever an earlier activation left behind.
        _recoveryArmed = true;
        if (State.Open.Count == 0)
        {
            await SyncRecoveryAsync();
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

    /// <summary>
    /// Makes the reminder exist exactly while the tenant has open jobs (where the silo has a reminder service), and
    /// returns once it does. One reconciliation runs at a time and every caller joins it: a burst of admissions
    /// registers the reminder once, and an admission arriving while an idle tick unregisters it waits for the
    /// reminder to be registered again rather than trusting a registration about to disappear.
    /// </summary>
    private Task SyncRecoveryAsync()
    {
        if (ServiceProvider.GetService<IReminderRegistry>() is null)
        {
            return Task.CompletedTask;
        }

        return _recoverySync is { IsCompleted: false } running ? running : _recoverySync = ReconcileRecoveryAsync();
    }

    /// <summary>Registers or unregisters until the reminder matches the open jobs, checking again after every await.</summary>
    private async Task ReconcileRecoveryAsync()
    {
        try
        {
            bool wanted;
            while (_recoveryArmed != (wanted = State.Open.Count > 0))
            {
                if (wanted)
                {
                    var period = recovery.Value.RecoveryPeriod;
                    await this.RegisterOrUpdateReminder(RecoveryReminder, period, period);
                }
                else if (_recoveryArmed is true && await this.GetReminder(RecoveryReminder) is { } reminder)
                {
                    await this.UnregisterReminder(reminder);
                }

                _recoveryArmed = wanted;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Tried again by the next admission or tick; the job's own recovery paths still work meanwhile.
            LogRecoveryReminderFailed(logger, e, TenantId);
        }
    }

    [LoggerMessage(EventId = 1111, Level = LogLevel.Debug, Message = "Tenant {TenantId} woke {Woken} of its {Open} open jobs to check their progress")]
    private static partial void LogRecoveryTick(ILogger logger, string tenantId, int woken, int open);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Tenant {TenantId} could not update its job recovery reminder")]
    private static partial void LogRecoveryReminderFailed(ILogger logger, Exception exception, string tenantId);
}
