using System.Text;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Models;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// One request's lifecycle (key: job id): admission by the tenant, a place in its model's queue, runs on the nodes the
/// dispatcher gives it (more than one when preempted), events for watchers, and exactly one settlement at the end. Reentrant: watchers, queries and cancellation interleave with the
/// run, which only awaits; all of it runs on the grain's scheduler, so fields need no locks.
/// </summary>
[Reentrant]
public sealed partial class JobGrain(
    [PersistentState("job", TokenGridStorage.Name)] IPersistentState<JobState> state,
    ModelCatalog catalog,
    TokenGridInstruments instruments,
    TimeProvider timeProvider,
    ILogger<JobGrain> logger)
    : Grain, IJobGrain
{
    private readonly TaskCompletionSource<JobInfo> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder _output = new();
    private Task<JobInfo>? _submission;
    private Task? _run;
    private CancellationTokenSource? _runCancellation;
    private JobOutcomeReason? _cancelReason;
    private bool _siloStopping;
    private bool _finishing;
    private int _completionTokens;

    private string JobId => this.GetPrimaryKeyString();

    private JobInfo? Info => state.State.Info;

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Info is { IsFinished: false } interrupted)
        {
            // Saved as admitted but never ended: the silo running it stopped. End it and release the reservation.
            _completionTokens = interrupted.CompletionTokens;
            await FinishAsync(new Ending(JobStatus.Failed, JobOutcome.Failed, "The job was interrupted: the silo running it stopped."));
        }
        else if (Info is { IsFinished: true, Status: not JobStatus.Rejected, ChargedTokens: null } && state.State.Outcome is { } outcome)
        {
            // It ended but settling failed: settling is idempotent, so try again.
            state.State.Info = Info with { ChargedTokens = await SettleAsync(Info, outcome) };
            await WriteAsync();
        }
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_run is { IsCompleted: false } run)
        {
            // The silo is stopping under a running job: end it as failed and settle what it used.
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

        Validate(spec);
        state.State.Spec = spec;
        state.State.Info = new JobInfo
        {
            Id = JobId,
            TenantId = spec.TenantId,
            Model = spec.Model,
            Status = JobStatus.Queued,
            SubmittedAt = timeProvider.GetUtcNow(),
            PromptTokens = spec.PromptTokens.Length,
        };
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
        return await _finished.Task;
    }

    private async Task<JobInfo> AdmitAndStartAsync(JobSpec spec)
    {
        AdmissionResult admission;
        try
        {
            admission = await GrainFactory.GetGrain<ITenantGrain>(spec.TenantId)
                .AdmitAsync(new AdmissionRequest(JobId, spec.Model, spec.PromptTokens.Length, spec.MaxTokens));
        }
        catch (Exception e)
        {
            // Whether the tenant reserved is unknown; settling releases a reservation if there is one.
            LogAdmissionFailed(logger, e, JobId, spec.TenantId);
            return await FinishAsync(new Ending(JobStatus.Failed, JobOutcome.Failed, $"Admission failed: {e.Message}"));
        }

        var now = timeProvider.GetUtcNow();
        state.State.Info = Info! with { Admission = admission, AdmittedAt = admission.Admitted ? now : null };
        if (!admission.Admitted)
        {
            return await FinishAsync(new Ending(JobStatus.Rejected, null, admission.Message ?? $"Not admitted: {admission.Rejection}."));
        }

        try
        {
            await WriteAsync();
        }
        catch (Exception e)
        {
            LogWriteFailed(logger, e, JobId);
            return await FinishAsync(new Ending(JobStatus.Failed, JobOutcome.Failed, $"The job could not be saved: {e.Message}"));
        }

        AppendStatus(Info!);
        if (_cancelReason is not null)
        {
            return await FinishAsync(CancelledEnding());
        }

        // The dispatcher may call back before this returns; the run then finds its node waiting.
        _placement = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _enqueuedAt = timeProvider.GetUtcNow();
        if (await EnqueueAsync(spec, resumed: false) is { } refused)
        {
            return await FinishAsync(refused);
        }

        _runCancellation = spec.Timeout is { } timeout
            ? new CancellationTokenSource(Max(Info!.SubmittedAt + timeout - now, TimeSpan.Zero), timeProvider)
            : new CancellationTokenSource();
        if (_cancelReason is not null)
        {
            // Cancelled while queueing: the run releases the queue place and ends at once.
            _runCancellation.Cancel();
        }

        // The run goes on after this call returns; keep the activation until it ends.
        DelayDeactivation(Timeout.InfiniteTimeSpan);
        _run = RunAsync(spec, _runCancellation.Token);
        return Info!;
    }

    private static void Validate(JobSpec spec)
    {
        var error = string.IsNullOrWhiteSpace(spec.TenantId) ? "The tenant id is empty."
            : string.IsNullOrWhiteSpace(spec.Model) ? "The model is empty."
            : spec.PromptTokens is not { Length: > 0 } ? "The prompt is empty."
            : spec.MaxTokens < 1 ? "max_tokens must be at least 1."
            : null;
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(spec));
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private Task WriteAsync() => state.WriteStateAsync();
}
