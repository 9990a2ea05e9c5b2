using Orleans.Storage;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Jobs;

public sealed partial class JobGrain
{
    /// <summary>
    /// Ends the job once: settles with the tokens it used (the prompt only when a node took it), saves, emits the final
    /// status event and records the metrics. Later calls return the same job. <paramref name="released"/> is the
    /// dispatcher's release of the job's slot, still in flight while the tenant settles: the job shows as ended (its
    /// info, its final status) only once both are done, so whoever sees it end finds its slot free.
    /// </summary>
    private async Task<JobInfo> FinishAsync(JobEnding ending, string? nodeId = null, Task? released = null)
    {
        if (_finishing)
        {
            return await _finished.Task;
        }

        _finishing = true;
        var info = Info!;
        var completion = Progress.Finish(ending.CompletionTokens);
        var finishedAt = timeProvider.GetUtcNow();
        var expiresAt = retention.ExpiresAt(state.State.Spec, info.TenantId, finishedAt);
        info = ending.Apply(info, nodeId, finishedAt, expiresAt, completion, Progress.Kept(state.State.Spec), _nodeRegions);

        state.State.Outcome = ending.Outcome;
        if (ending.Outcome is { } outcome)
        {
            info = info with { ChargedTokens = await Settlement.SettleAsync(state.State, info, outcome) };
        }

        await (released ?? Task.CompletedTask);
        state.State.Info = info;
        state.State.ProducedTokens = [];
        // An async job's log probabilities stay with its kept output, so a later watch replays them.
        state.State.Logprobs = _checkpoints.Kept(state.State.Spec?.KeepOutput == true, completion);
        state.State.LastSequence = _log.FinalSequence;
        var expiryScheduled = await ScheduleContentExpiryAsync();
        if (!await TrySaveAsync() || !expiryScheduled)
        {
            Settlement.MarkUnsaved();
        }

        _log.AppendStatus(info, state.State.LastSequence);
        RecordEnd(info, ending);
        LogFinished(logger, JobId, info.Status, info.CompletionTokens, info.ChargedTokens, info.Error);
        // Ended: no longer kept alive, so Orleans collects the activation once idle for the re-attach grace (JobLifetimeOptions).
        DelayDeactivation(TimeSpan.Zero);
        _finished.TrySetResult(info);
        if (Settlement.IsPending(state.State))
        {
            // The tenant or the database could not be reached (a silo died, the database restarts): keep trying.
            await RetryFinishAsync();
        }

        return info;
    }

    /// <summary>
    /// A job that ended but whose settlement or final save failed (the tenant's silo died, the database restarts) tries
    /// again every second while this activation lives, which the retry keeps alive, then at its next activation (the
    /// tenant's recovery reminder wakes it): settling is idempotent, and the ended job is saved once both are done.
    /// </summary>
    private async Task RetryFinishAsync()
    {
        // A retry that outlasts the content's retention must not write the content back over the sweep's deletion.
        ForgetContentIfExpired();
        if (!await Settlement.CompleteAsync(state.State, ScheduleContentExpiryAsync, TrySaveAsync))
        {
            ArmFinishRetry();
            return;
        }

        _finishRetry?.Dispose();
        _finishRetry = null;
    }

    private void ArmFinishRetry() => _finishRetry ??= this.RegisterGrainTimer(
        _ => RetryFinishAsync(), new GrainTimerCreationOptions(s_finishRetryPeriod, s_finishRetryPeriod) { KeepAlive = true });

    /// <summary>Saves the state; false (logged) when that failed.</summary>
    private async Task<bool> TrySaveAsync()
    {
        try
        {
            await WriteAsync();
            return true;
        }
        catch (Exception e)
        {
            LogWriteFailed(logger, e, JobId);
            return false;
        }
    }

    /// <summary>Saves the state (<see cref="JobStateWrites.WriteAsync"/>).</summary>
    private Task WriteAsync() => JobStateWrites.WriteAsync(state, deactivating: _siloStopping);

    /// <summary>Records how the job ended (metrics) and ends its span.</summary>
    private void RecordEnd(JobInfo info, JobEnding ending)
    {
        var end = ending.Metrics(info, _siloStopping);
        instruments.OnRequestFinished(end);
        TokenGridTracing.EndJob(_span, end.Outcome, end.Reason, info.CompletionTokens, info.Error);
        _span = null;
    }
}
