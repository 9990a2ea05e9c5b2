using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Jobs.Retention;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// One request's lifecycle (key: job id): admission by the tenant, a place in its model's queue, runs on the nodes the
/// dispatcher gives it (more than one when preempted or when a silo fails), events for watchers, checkpoints to resume
/// from after a silo failure, and exactly one settlement at the end. Reentrant: watchers, queries and cancellation
/// interleave with the run, which only awaits; all of it runs on the grain's scheduler, so fields need no locks.
/// </summary>
[Reentrant]
public sealed partial class JobGrain(
    [PersistentState("job", TokenGridStorage.Name)] IPersistentState<JobState> state,
    ModelCatalog catalog,
    IOptions<JobRecoveryOptions> recovery,
    IOptions<SchedulingOptions> scheduling,
    IOptions<NodeOptions> nodes,
    JobRetention retention,
    TokenGridInstruments instruments,
    TimeProvider timeProvider,
    ILogger<JobGrain> logger)
    : Grain, IJobGrain
{
    private static readonly TimeSpan s_finishRetryPeriod = TimeSpan.FromSeconds(1);

    // What the job has produced: its events for watchers, what it needs to resume, and its text when it keeps it.
    private readonly JobEventLog _log = new();
    private readonly JobCheckpoints _checkpoints = new(recovery.Value);
    private JobProgress? _progress;

    // The run: its place in the queue, the node it streams from, and how it stops.
    private Task<JobInfo>? _submission;
    private Task? _run;
    private TaskCompletionSource<string>? _placement;

    /// <summary>The region label of each node this activation was placed on, for pricing where the tokens were created.</summary>
    private readonly Dictionary<string, string?> _nodeRegions = new(StringComparer.Ordinal);
    private DateTimeOffset _enqueuedAt;
    private string? _streamingNode;
    private CancellationTokenSource? _runCancellation;
    private CancellationTokenSource? _preemption;
    private bool _preempted;
    private JobOutcomeReason? _cancelReason;
    private bool _siloStopping;

    /// <summary>Set once a watcher attaches to this activation, or the job is cancelled (see <see cref="ResumeWhenWatchedAsync"/>).</summary>
    private readonly TaskCompletionSource _watched = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // The end: once, then settled and saved (retried until both are done).
    private readonly TaskCompletionSource<JobInfo> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _finishing;
    private JobSettlement? _settlement;
    private IGrainTimer? _finishRetry;
    private System.Diagnostics.Activity? _span;

    private string JobId => this.GetPrimaryKeyString();

    private JobInfo? Info => state.State.Info;

    private JobProgress Progress => _progress ??= new(catalog, _log, _checkpoints, timeProvider);

    private JobSettlement Settlement => _settlement ??= new(
        (tenantId, request) => GrainFactory.GetGrain<ITenantGrain>(tenantId).SettleAsync(request), JobId, logger, id => GrainFactory.GetGrain<IJobGrain>(id).GetAsync());

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Info is { IsFinished: false } interrupted)
        {
            // Saved as admitted but never ended: the silo it lived on died. Resume from the last checkpoint.
            await ResumeAfterLossAsync(interrupted);
        }
        else
        {
            await RetryFinishAsync();
        }
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_run is { IsCompleted: false } run)
        {
            // Deactivated under a running job (the silo stops, or Orleans lost the grain's directory entry with another
            // silo): a resumable job saves a checkpoint and wakes its next activation, which resumes it; any other job
            // ends as failed and settles what it used.
            _siloStopping = true;
            _runCancellation?.Cancel();
            try
            {
                await run.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Deactivation has its own deadline; the run's settlement is then left to reactivation.
            }

            if (Info is { IsFinished: false } suspended)
            {
                GrainFactory.GetGrain<IJobGrain>(JobId).RecoverAsync(suspended.TenantId, suspended.Model).Ignore();
            }
        }

        _runCancellation?.Dispose();
    }

    /// <inheritdoc />
    public Task<JobInfo> SubmitAsync(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (Info is { } existing)
        {
            return _submission is { IsCompleted: false } pending ? pending : Task.FromResult(existing);
        }

        JobSubmission.Validate(spec);
        spec = JobSubmission.WithFixedSeed(spec);
        state.State.Spec = spec;
        state.State.Info = JobSubmission.Submitted(JobId, spec, timeProvider.GetUtcNow());
        return _submission = AdmitAndStartAsync(spec);
    }

    /// <inheritdoc />
    public async Task<JobInfo?> CancelAsync(JobOutcomeReason reason)
    {
        if (Info is not { IsFinished: false })
        {
            return Info;
        }

        // The first reason wins; a run that is already ending keeps its own ending.
        _cancelReason ??= reason;
        _runCancellation?.Cancel();
        _watched.TrySetResult();
        return await _finished.Task;
    }

    /// <inheritdoc />
    // Orleans cancels the token given to GetAsyncEnumerator when the watcher disposes its enumeration; that ends
    // only the watch, never the job.
    public IAsyncEnumerable<JobEvent> WatchAsync(long afterSequence) => WatchCoreAsync(afterSequence, -1, CancellationToken.None);

    /// <inheritdoc />
    public IAsyncEnumerable<JobEvent> WatchAsync(long afterSequence, long afterTokens) => WatchCoreAsync(afterSequence, afterTokens, CancellationToken.None);

    private async IAsyncEnumerable<JobEvent> WatchCoreAsync(long afterSequence, long afterTokens, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        _watched.TrySetResult();
        if (Info is null)
        {
            yield break;
        }

        ForgetContentIfExpired();

        if (_log.IsEmpty && Info.IsFinished)
        {
            // A new activation of a finished job: its log is gone, so rebuild it from what was kept.
            _log.RestoreFinished(Info, state.State.Logprobs, state.State.LastSequence);
        }

        await foreach (var e in _log.WatchAsync(afterSequence, afterTokens, cancellationToken))
        {
            yield return e;
        }
    }

    private async Task<JobInfo> AdmitAndStartAsync(JobSpec spec)
    {
        // Current for the rest of this flow (the run included), so the tenant's and the node's spans are its children.
        _span = TokenGridTracing.StartJob(JobId, spec.TenantId, spec.Model, spec.PromptTokens.Length);
        AdmissionResult admission;
        try
        {
            // A choice of an n > 1 request was admitted with its group, which reserved the prompt on choice 0 only.
            var request = new AdmissionRequest(JobId, spec.Model, spec.Choice is { ChargesPrompt: false } ? 0 : spec.PromptTokens.Length, spec.MaxTokens);
            using var span = TokenGridTracing.StartAdmission(spec.TenantId, spec.Model, request.Reservation);
            admission = await GrainFactory.GetGrain<ITenantGrain>(spec.TenantId).AdmitAsync(request);
            span?.SetTag("tokengrid.admitted", admission.Admitted);
        }
        catch (Exception e)
        {
            // Whether the tenant reserved is unknown; settling releases a reservation if there is one.
            LogAdmissionError(e, spec.TenantId);
            return await FinishAsync(NotAccepted(e, "Admission failed"));
        }

        var now = timeProvider.GetUtcNow();
        state.State.Info = Info! with { Admission = admission, AdmittedAt = admission.Admitted ? now : null };
        if (!admission.Admitted)
        {
            return await FinishAsync(new JobEnding(JobStatus.Rejected, null, admission.Message ?? $"Not admitted: {admission.Rejection}."));
        }

        try
        {
            await WriteAsync();
        }
        catch (Exception e)
        {
            // Not saved, so not accepted: the reservation is released by the settlement.
            LogWriteFailed(logger, e, JobId);
            return await FinishAsync(NotAccepted(e, "The job could not be saved"));
        }

        _log.AppendStatus(Info!);
        if (_cancelReason is not null)
        {
            return await FinishAsync(CancelledEnding);
        }

        return await StartRunAsync(spec, resumed: false) ?? Info!;
    }

    /// <summary>How a job ends that failed before it was accepted (see <see cref="JobEnding.NotAccepted"/>).</summary>
    private JobEnding NotAccepted(Exception e, string what)
    {
        var ending = JobEnding.NotAccepted(e, what);
        if (ending.Status == JobStatus.Rejected)
        {
            state.State.Info = Info! with { RetryAfter = StorageUnavailableException.RetryAfter };
        }

        return ending;
    }
}
