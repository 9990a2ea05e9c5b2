using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Jobs.Retention;
using TokenGrid.Grains.Models;
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
    JobRetention retention,
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
    private bool _finishUnsaved;
    private IGrainTimer? _finishRetry;
    private System.Diagnostics.Activity? _span;
    private static readonly TimeSpan s_finishRetryPeriod = TimeSpan.FromSeconds(1);

    private string JobId => this.GetPrimaryKeyString();

    private JobInfo? Info => state.State.Info;

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

        Validate(spec);
        spec = WithFixedSeed(spec);
        state.State.Spec = spec;
        state.State.Info = new JobInfo
        {
            Id = JobId,
            TenantId = spec.TenantId,
            Model = spec.Model,
            Status = JobStatus.Queued,
            SubmittedAt = timeProvider.GetUtcNow(),
            PromptTokens = spec.PromptTokens.Length,
            User = spec.User,
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
            LogAdmissionFailed(logger, e, JobId, spec.TenantId);
            return await FinishAsync(NotAccepted(e, "Admission failed"));
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
            // Not saved, so not accepted: the reservation is released by the settlement.
            LogWriteFailed(logger, e, JobId);
            return await FinishAsync(NotAccepted(e, "The job could not be saved"));
        }

        AppendStatus(Info!);
        if (_cancelReason is not null)
        {
            return await FinishAsync(CancelledEnding());
        }

        return await StartRunAsync(spec, resumed: false) ?? Info!;
    }

    /// <summary>
    /// How a job ends that failed before it was accepted. When the database or a silo was unreachable (the tenant's grain
    /// lived on a silo that just died, say) it is rejected
    /// with a retry delay (HTTP 503 with Retry-After: the same request can be sent again); otherwise it fails. Either way
    /// it settles for nothing, which releases a reservation the tenant may have made.
    /// </summary>
    private Ending NotAccepted(Exception e, string what)
    {
        var siloLost = EnqueueRetry.IsSiloLost(e);
        if (!siloLost && !StorageUnavailableException.IsTransient(e))
        {
            return new Ending(JobStatus.Failed, JobOutcome.Failed, $"{what}: {e.Message}");
        }

        state.State.Info = Info! with { RetryAfter = StorageUnavailableException.RetryAfter };
        return new Ending(JobStatus.Rejected, JobOutcome.Failed,
            $"{what}: {(siloLost ? "a silo of the cluster is unavailable" : "storage is unavailable")}; retry shortly.");
    }

    /// <summary>
    /// A sampled job without a seed gets one now, saved with its spec: every run draws from that seed (a resumed run
    /// skips the draws of the tokens already produced), so a job reactivated from a checkpoint behind what a watcher saw
    /// produces again exactly the text the watcher has, and its re-attach receives only the missing text. Drawn per run
    /// instead, the recomputed text after the checkpoint would differ from what was already streamed.
    /// </summary>
    private static JobSpec WithFixedSeed(JobSpec spec) => spec.Sampling is { Temperature: > 0f, Seed: null }
        ? spec with { Sampling = spec.Sampling with { Seed = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue) } }
        : spec;

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
}
