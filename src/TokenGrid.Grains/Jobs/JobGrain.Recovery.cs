using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// Surviving silo failures. A running job saves checkpoints (token ids produced, stream position); when its node's silo
/// dies its stream breaks and it re-queues to resume by recomputation, as after a preemption; when its own grain dies, a
/// recovery call (tenant reminder, dispatcher, or a watcher re-attaching) reactivates it elsewhere and it resumes from the
/// checkpoint. Either way it is charged once, for the tokens of its final output.
/// </summary>
public sealed partial class JobGrain
{
    /// <inheritdoc />
    public async Task RecoverAsync(string tenantId, string model)
    {
        if (Info is null)
        {
            if (!string.IsNullOrEmpty(tenantId) && !string.IsNullOrEmpty(model))
            {
                await FinishLostAsync(tenantId, model);
            }

            return;
        }

        if (Info.IsFinished)
        {
            // Ended: settle again if the tenant could not be reached then (unless the ending is still being saved).
            if (!_finishing || _finished.Task.IsCompleted)
            {
                JobSettlement.SettleRefused(state.State);
                await RetryFinishAsync();
            }

            return;
        }

        if (_finishing || _run is not { IsCompleted: false } || state.State.Spec is not { } spec)
        {
            // Ending now, or a run this activation does not own.
            return;
        }

        try
        {
            if (_placement is { Task.IsCompleted: false })
            {
                // Waiting: enqueueing again is a no-op for a dispatcher that knows the job, and restores a new one's queue.
                await Dispatcher(spec.Model).EnqueueAsync(Request(spec, resumed: true));
            }
            else if (_streamingNode is { } node)
            {
                await Dispatcher(spec.Model).AdoptAsync(Request(spec, resumed: true), node);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRecoverFailed(logger, e, JobId);
        }
    }

    /// <summary>
    /// A new activation of a job that was admitted and never ended: its grain died with its silo. It restores the text
    /// streamed up to the last checkpoint, gives back the slot it held, and queues to resume by recomputation; or fails
    /// with the reason when it cannot resume. Tokens produced after the checkpoint are produced again.
    /// </summary>
    private async Task ResumeAfterLossAsync(JobInfo interrupted)
    {
        var saved = state.State;
        Progress.Restore(saved, interrupted);

        if (saved.Spec is not { } spec || interrupted.Admission is not { Admitted: true })
        {
            await FinishAsync(new JobEnding(JobStatus.Failed, JobOutcome.Failed, "The job was interrupted before it was queued: the silo running it stopped."));
            return;
        }

        if (_checkpoints.CannotResume(Progress.CompletionTokens) is { } reason)
        {
            await FinishAsync(new JobEnding(JobStatus.Failed, JobOutcome.Failed, $"The job was interrupted: the silo running it stopped, and {reason}"));
            return;
        }

        LogResumed(logger, JobId, Progress.CompletionTokens, interrupted.NodeId);
        if (interrupted is { Status: JobStatus.Running, NodeId: { } lost })
        {
            await ReleaseSlotAsync(spec.Model, lost);
        }

        state.State.Info = Info! with { Status = JobStatus.Queued, QueuePosition = null, ExpectedWait = null };
        _log.AppendStatus(Info!);
        await CheckpointAsync(force: true);
        if (spec.KeepOutput)
        {
            await StartRunAsync(spec, resumed: true);
        }
        else
        {
            // Not awaited: the watcher it waits for calls this activation, which must finish activating first.
            DelayDeactivation(Timeout.InfiniteTimeSpan);
            _ = ResumeWhenWatchedAsync(spec);
        }
    }

    /// <summary>
    /// A chat or completion keeps no output, so only a watcher attached while it runs receives the rest. The server that
    /// serves its client re-attaches within seconds of the loss; a job that no one watches within
    /// <see cref="JobRecoveryOptions.UnwatchedStreamGrace"/> (the whole cluster stopped, or the database was restored from
    /// a backup taken while it ran) would run on, and be charged, for no one: it ends as a client that left, charged for
    /// what it had produced before the loss.
    /// </summary>
    private async Task ResumeWhenWatchedAsync(JobSpec spec)
    {
        var grace = recovery.Value.UnwatchedStreamGrace;
        var watched = await Task.WhenAny(_watched.Task, Task.Delay(grace, timeProvider)) == _watched.Task;
        if (Info is { IsFinished: false } && !_finishing)
        {
            var next = watched && _cancelReason is null ? (Task)StartRunAsync(spec, resumed: true)
                : FinishAsync(_cancelReason is not null ? CancelledEnding : UnwatchedEnding(grace));
            await next;
        }
    }

    private bool IsPastTimeout(JobSpec spec) => JobSubmission.TimeLeft(spec, Info!.SubmittedAt, timeProvider.GetUtcNow()) == TimeSpan.Zero;

    /// <summary>
    /// Saves the job as it runs: the token ids produced, the stream position and the status. At most once per
    /// <see cref="JobRecoveryOptions.CheckpointInterval"/> unless <paramref name="force"/>d; a failed save is logged and
    /// only widens what a failover recomputes.
    /// </summary>
    private async Task CheckpointAsync(bool force)
    {
        if (!_checkpoints.IsDue(timeProvider.GetUtcNow(), force))
        {
            return;
        }

        _checkpoints.SaveTo(state.State, _log);
        try
        {
            await WriteAsync();
        }
        catch (Exception e)
        {
            LogCheckpointFailed(logger, e, JobId);
        }
    }

    /// <summary>
    /// The tenant admitted the job but its grain died before saving it: nothing ran, so it ends failed and settles 0
    /// tokens, which closes the reservation.
    /// </summary>
    private async Task FinishLostAsync(string tenantId, string model)
    {
        state.State.Info = new JobInfo { Id = JobId, TenantId = tenantId, Model = model, Status = JobStatus.Queued, SubmittedAt = timeProvider.GetUtcNow() };
        await FinishAsync(new JobEnding(JobStatus.Failed, JobOutcome.Failed, "The job was lost: the silo admitting it stopped before it was saved."));
    }
}
