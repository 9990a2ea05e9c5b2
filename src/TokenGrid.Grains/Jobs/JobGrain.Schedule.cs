using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// The job's side of scheduling: it queues with its model's dispatcher, waits for the one-way callback that names its
/// node, releases the slot after every run, and on preemption queues again to resume by recomputation.
/// </summary>
public sealed partial class JobGrain
{
    /// <inheritdoc />
    public async Task<JobInfo?> GetAsync()
    {
        if (Info is null)
        {
            // No such job (a submission sets its record before it awaits anything): this activation holds nothing worth
            // keeping, so a tenant reading made-up ids does not fill the silo with them.
            DeactivateOnIdle();
            return null;
        }

        ForgetContentIfExpired();
        if (Info is { Status: JobStatus.Queued, QueuePosition: not null } queued && !_finishing)
        {
            // The place changes with every dispatch: ask the dispatcher rather than keep a stale figure.
            return await JobDispatch.WithQueuePlaceAsync(queued, Dispatcher(queued.Model));
        }

        return Info;
    }

    /// <inheritdoc />
    public Task StartOnNodeAsync(string nodeId, string model, string? region = null)
    {
        if (_placement is { Task.IsCompleted: false } placement && !_finishing)
        {
            _nodeRegions[nodeId] = region;
            placement.TrySetResult(nodeId);
        }
        else if (_placement is null || _finishing)
        {
            // Not waiting for a node (a new activation, or ending): give the slot straight back.
            Dispatcher(model).ReleaseAsync(JobId, nodeId, 0).Ignore();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task PreemptAsync()
    {
        // A stop sequence straddling the preemption is found by the job's own matcher on the resumed run (ResumeText).
        // The callback may overtake the run it preempts (placed, not yet started): the run then stops as it starts.
        if (_placement is { Task.IsCompleted: true } && _checkpoints.Resumable && !_finishing)
        {
            _preempted = true;
            _preemption?.Cancel();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task NoNodeServesAsync(string model, string message)
    {
        JobDispatch.EndWaiting(_finishing ? null : _placement, new ModelUnservedException(message));
        return Task.CompletedTask;
    }

    private IModelDispatcherGrain Dispatcher(string model) => GrainFactory.GetGrain<IModelDispatcherGrain>(model);

    private DispatchRequest Request(JobSpec spec, bool resumed) =>
        JobDispatch.Request(JobId, spec, Info!.Admission, _checkpoints, _enqueuedAt, resumed, PrefixBlockTokens, Info.Preemptions);

    /// <summary>
    /// The block size the job cuts its prompt at for prefix-aware placement: the engines' (every silo's nodes share the
    /// engine settings; a node cut differently is placed by load alone), or 0 when that placement is off.
    /// </summary>
    private int PrefixBlockTokens => scheduling.Value.PrefixAffinityWeight > 0 ? nodes.Value.PrefixBlockTokens : 0;

    /// <summary>
    /// Queues the job and starts its run (which goes on after this returns); the ending when the scheduler refuses it.
    /// The dispatcher may call back before the enqueue returns; the run then finds its node waiting.
    /// </summary>
    private async Task<JobInfo?> StartRunAsync(JobSpec spec, bool resumed)
    {
        if (resumed && Progress.StartResumedRun(state.State, spec) is { } ended)
        {
            return await FinishAsync(ended);
        }

        _placement = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _enqueuedAt = resumed ? Info!.AdmittedAt ?? timeProvider.GetUtcNow() : timeProvider.GetUtcNow();
        if (await EnqueueAsync(spec, resumed) is { } refused)
        {
            return await FinishAsync(refused);
        }

        _runCancellation = new CancellationTokenSource(JobSubmission.TimeLeft(spec, Info!.SubmittedAt, timeProvider.GetUtcNow()), timeProvider);
        if (_cancelReason is not null)
        {
            // Cancelled while queueing: the run releases the queue place and ends at once.
            _runCancellation.Cancel();
        }

        // The run goes on after this call returns; keep the activation until it ends.
        DelayDeactivation(Timeout.InfiniteTimeSpan);
        _run = RunAsync(spec, _runCancellation.Token);
        return null;
    }

    /// <summary>Queues the job (again, when <paramref name="resumed"/>); returns the ending when the scheduler refuses it.</summary>
    private async Task<JobEnding?> EnqueueAsync(JobSpec spec, bool resumed)
    {
        EnqueueResult queued;
        try
        {
            // Enqueueing is idempotent by job id, so asking again after a lost silo cannot queue it twice.
            queued = await EnqueueRetry.RunAsync(
                () => Dispatcher(spec.Model).EnqueueAsync(Request(spec, resumed)), (e, attempt) => LogEnqueueRetry(logger, e, JobId, attempt), timeProvider);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRunFailed(logger, e, JobId, null);
            return new JobEnding(JobStatus.Failed, JobOutcome.Failed, "The job could not be queued: its model's scheduler failed.");
        }

        (state.State.Info, var refused) = JobDispatch.Enqueued(Info!, queued, resumed);
        return refused;
    }

    /// <summary>
    /// Preempted, refused by its node or cut off by its node's loss: gives the slot back with the tokens this run
    /// produced, then queues again in front of the tenant's other jobs; or returns the ending when those tokens already
    /// end the job.
    /// </summary>
    private async Task<JobEnding?> RequeueAsync(JobSpec spec, string nodeId, bool preempted)
    {
        await ReleaseSlotAsync(spec.Model, nodeId);
        _preempted = false;
        if (Progress.StartResumedRun(state.State, spec) is { } ended)
        {
            return ended;
        }

        _placement = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        state.State.Info = Info! with { Status = JobStatus.Queued, Preemptions = Info.Preemptions + (preempted ? 1 : 0) };
        _log.AppendStatus(Info!);
        await CheckpointAsync(force: true);
        return await EnqueueAsync(spec, resumed: true);
    }

    /// <summary>Tells the dispatcher the run ended (or the job left the queue); never throws.</summary>
    private async Task ReleaseSlotAsync(string model, string? nodeId)
    {
        try
        {
            await Dispatcher(model).ReleaseAsync(JobId, nodeId, Progress.TokensSinceRelease);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogReleaseFailed(logger, e, JobId, model);
        }

        Progress.SlotReleased();
    }
}
