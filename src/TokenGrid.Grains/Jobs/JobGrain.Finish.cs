using Orleans.Storage;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Jobs;

public sealed partial class JobGrain
{
    /// <summary>
    /// Ends the job once: settles with the tokens it used (the prompt only when a node took it), saves, emits the final
    /// status event and records the metrics. Later calls return the same job.
    /// </summary>
    private async Task<JobInfo> FinishAsync(Ending ending, string? nodeId = null)
    {
        if (_finishing)
        {
            return await _finished.Task;
        }

        _finishing = true;
        var info = Info!;
        var completion = ending.CompletionTokens ?? _completionTokens;
        _completionTokens = completion;
        var finishedAt = timeProvider.GetUtcNow();
        info = info with
        {
            Status = ending.Status,
            NodeId = nodeId ?? info.NodeId,
            FinishedAt = finishedAt,
            ContentExpiresAt = retention.ExpiresAt(state.State.Spec, info.TenantId, finishedAt),
            FinishReason = ending.FinishReason,
            Error = ending.Error,
            CompletionTokens = completion,
            Output = state.State.Spec?.KeepOutput == true ? _output.ToString() : null,
            QueuePosition = null,
            ExpectedWait = null,
        };

        state.State.Outcome = ending.Outcome;
        if (ending.Outcome is { } outcome)
        {
            info = info with { ChargedTokens = await SettleAsync(info, outcome) };
        }

        state.State.Info = info;
        state.State.ProducedTokens = [];
        // An async job's log probabilities stay with its kept output, so a later watch replays them.
        state.State.Logprobs = state.State.Spec?.KeepOutput == true && _producedLogprobs.Count == completion ? [.. _producedLogprobs] : [];
        state.State.LastSequence = JobEventSequence.Next(_lastSequence, _emittedChars);
        if (!await ScheduleContentExpiryAsync())
        {
            _finishUnsaved = true;
        }

        try
        {
            await WriteAsync();
        }
        catch (Exception e)
        {
            _finishUnsaved = true;
            LogWriteFailed(logger, e, JobId);
        }

        AppendStatus(info, state.State.LastSequence);
        RecordEnd(info, ending);
        LogFinished(logger, JobId, info.Status, info.CompletionTokens, info.ChargedTokens, info.Error);
        // Ended: no longer kept alive, so Orleans collects the activation once idle for the re-attach grace (JobLifetimeOptions).
        DelayDeactivation(TimeSpan.Zero);
        _finished.TrySetResult(info);
        if ((info is { ChargedTokens: null } && ending.Outcome is not null) || _finishUnsaved)
        {
            // The tenant or the database could not be reached (a silo died, the database restarts): keep trying.
            await RetryFinishAsync();
        }

        return info;
    }

    /// <summary>Settles with the tenant; the charge, or null when settling failed (retried on the next activation).</summary>
    private async Task<long?> SettleAsync(JobInfo info, JobOutcome outcome)
    {
        // Choices of an n > 1 request share one prompt, charged to choice 0 (as OpenAI counts usage: the prompt once).
        var prompt = state.State.PromptProcessed && state.State.Spec?.Choice is not { ChargesPrompt: false } ? info.PromptTokens : 0;
        try
        {
            var settlement = await GrainFactory.GetGrain<ITenantGrain>(info.TenantId)
                .SettleAsync(new SettlementRequest(info.Id, prompt, info.CompletionTokens, outcome));
            return settlement.Charged;
        }
        catch (Exception e)
        {
            LogSettleFailed(logger, e, info.Id, info.TenantId);
            return null;
        }
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
        if (Info is { IsFinished: true, ChargedTokens: null } && state.State.Outcome is { } outcome)
        {
            if (await SettleAsync(Info, outcome) is not { } charged)
            {
                ArmFinishRetry();
                return;
            }

            state.State.Info = Info with { ChargedTokens = charged };
            _finishUnsaved = true;
            LogSettledLate(logger, JobId, charged);
        }

        if (NeedsContentExpiry)
        {
            if (!await ScheduleContentExpiryAsync())
            {
                ArmFinishRetry();
                return;
            }

            _finishUnsaved = true;
        }

        if (_finishUnsaved)
        {
            try
            {
                await WriteAsync();
                _finishUnsaved = false;
            }
            catch (Exception e)
            {
                LogWriteFailed(logger, e, JobId);
                ArmFinishRetry();
                return;
            }
        }

        _finishRetry?.Dispose();
        _finishRetry = null;
    }

    private void ArmFinishRetry() => _finishRetry ??= this.RegisterGrainTimer(
        _ => RetryFinishAsync(), new GrainTimerCreationOptions(s_finishRetryPeriod, s_finishRetryPeriod) { KeepAlive = true });

    /// <summary>
    /// Saves the state. A version conflict means another activation of this job wrote since this one read: the one being
    /// deactivated as this one took over (after a silo failure). The live activation is the job from now on and writes
    /// over it; a deactivating one leaves the newer state alone.
    /// </summary>
    private async Task WriteAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (InconsistentStateException) when (!_siloStopping)
        {
            var mine = state.State;
            await state.ReadStateAsync();
            state.State = mine;
            await state.WriteStateAsync();
        }
        catch (InconsistentStateException)
        {
            // Deactivating, and a newer activation has saved the job.
        }
    }

    /// <summary>How a job ends.</summary>
    /// <param name="Status">Final status.</param>
    /// <param name="Outcome">Ledger outcome; null for a rejected job, which has nothing to settle.</param>
    /// <param name="Error">What went wrong, or null.</param>
    /// <param name="FinishReason"><c>stop</c> or <c>length</c> for a job that succeeded.</param>
    /// <param name="CompletionTokens">Exact tokens from the node's final usage; null to use the tokens received.</param>
    /// <param name="Refused">The node never started the run (busy, draining): the job may be placed again.</param>
    private readonly record struct Ending(
        JobStatus Status, JobOutcome? Outcome, string? Error, string? FinishReason = null, int? CompletionTokens = null, bool Refused = false);
}
