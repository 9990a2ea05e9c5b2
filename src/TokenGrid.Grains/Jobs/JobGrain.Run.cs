using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Jobs;

public sealed partial class JobGrain
{
    /// <summary>Runs the job on a node until it ends, is cancelled or times out, then finishes it. Never throws.</summary>
    private async Task RunAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        string? nodeId = null;
        Ending ending;
        try
        {
            nodeId = await nodeSelector.SelectAsync(spec.Model);
            cancellationToken.ThrowIfCancellationRequested();
            ending = nodeId is null
                ? new Ending(JobStatus.Failed, JobOutcome.Failed, $"No node serves model '{spec.Model}'.")
                : await GenerateAsync(spec, nodeId, cancellationToken);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            ending = CancelledEnding();
        }
        catch (Exception e)
        {
            // The node's silo died or the call failed: what arrived so far is charged.
            LogRunFailed(logger, e, JobId, nodeId);
            ending = new Ending(JobStatus.Failed, JobOutcome.Failed, $"The node failed: {e.Message}");
        }

        await FinishAsync(ending, nodeId);
    }

    private async Task<Ending> GenerateAsync(JobSpec spec, string nodeId, CancellationToken cancellationToken)
    {
        var node = GrainFactory.GetGrain<INodeGrain>(nodeId);
        var request = new GenerationSpec(JobId, spec.Model, spec.PromptTokens, spec.MaxTokens, spec.Sampling, spec.Stop);
        GenerationFinal? final = null;
        await foreach (var chunk in node.GenerateAsync(request).WithCancellation(cancellationToken))
        {
            if (chunk.Final is { } last)
            {
                final = last;
                break;
            }

            OnChunk(chunk, nodeId, spec.KeepOutput);
        }

        if (final is { Refused: false })
        {
            state.State.PromptProcessed = true;
        }

        return final switch
        {
            null => new Ending(JobStatus.Failed, JobOutcome.Failed, $"Node '{nodeId}' ended the sequence without its usage."),
            { Refused: true } => new Ending(JobStatus.Failed, JobOutcome.Failed, final.Error ?? $"Node '{nodeId}' refused the job."),
            { FinishReason: "stop" or "length" } => new Ending(JobStatus.Succeeded, JobOutcome.Completed, null, final.FinishReason, final.CompletionTokens),
            _ => new Ending(JobStatus.Failed, JobOutcome.Failed, final.Error ?? $"The sequence ended as {final.FinishReason}.", null, final.CompletionTokens),
        };
    }

    private void OnChunk(GenerationChunk chunk, string nodeId, bool keepOutput)
    {
        state.State.PromptProcessed = true;
        if (Info!.Status == JobStatus.Queued)
        {
            // Running is not saved: a job found unfinished after a restart is failed either way.
            state.State.Info = Info with { Status = JobStatus.Running, NodeId = nodeId };
            AppendStatus(Info);
        }

        _completionTokens += chunk.Tokens;
        if (keepOutput)
        {
            _output.Append(chunk.Text);
        }

        state.State.Info = Info with
        {
            CompletionTokens = _completionTokens,
            FirstTokenAt = Info.FirstTokenAt ?? (chunk.Tokens > 0 ? timeProvider.GetUtcNow() : null),
        };
        AppendTokens(chunk.Text, chunk.Tokens);
    }

    /// <summary>How a cancelled run ends: by the tenant or client, by the silo stopping, or by its timeout.</summary>
    private Ending CancelledEnding() => _cancelReason switch
    {
        _ when _siloStopping => new Ending(JobStatus.Failed, JobOutcome.Failed, "The job was interrupted: the silo running it stopped."),
        JobOutcomeReason.ClientDisconnected => new Ending(JobStatus.Cancelled, JobOutcome.Disconnected, "The client disconnected."),
        JobOutcomeReason.CancelledByTenant => new Ending(JobStatus.Cancelled, JobOutcome.Cancelled, "Cancelled by the tenant."),
        _ => new Ending(JobStatus.Failed, JobOutcome.TimedOut, $"The job did not finish within {state.State.Spec?.Timeout}."),
    };

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
        info = info with
        {
            Status = ending.Status,
            NodeId = nodeId ?? info.NodeId,
            FinishedAt = timeProvider.GetUtcNow(),
            FinishReason = ending.FinishReason,
            Error = ending.Error,
            CompletionTokens = completion,
            Output = state.State.Spec?.KeepOutput == true ? _output.ToString() : null,
        };

        state.State.Outcome = ending.Outcome;
        if (ending.Outcome is { } outcome)
        {
            info = info with { ChargedTokens = await SettleAsync(info, outcome) };
        }

        state.State.Info = info;
        try
        {
            await WriteAsync();
        }
        catch (Exception e)
        {
            LogWriteFailed(logger, e, JobId);
        }

        AppendStatus(info);
        instruments.OnJobFinished(info.Model, info.Status.ToString().ToLowerInvariant(), info.FirstTokenAt - info.SubmittedAt);
        LogFinished(logger, JobId, info.Status, info.CompletionTokens, info.ChargedTokens, info.Error);
        DelayDeactivation(TimeSpan.Zero);
        _finished.TrySetResult(info);
        return info;
    }

    /// <summary>Settles with the tenant; the charge, or null when settling failed (retried on the next activation).</summary>
    private async Task<long?> SettleAsync(JobInfo info, JobOutcome outcome)
    {
        var prompt = state.State.PromptProcessed ? info.PromptTokens : 0;
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

    /// <summary>How a job ends.</summary>
    /// <param name="Status">Final status.</param>
    /// <param name="Outcome">Ledger outcome; null for a rejected job, which has nothing to settle.</param>
    /// <param name="Error">What went wrong, or null.</param>
    /// <param name="FinishReason"><c>stop</c> or <c>length</c> for a job that succeeded.</param>
    /// <param name="CompletionTokens">Exact tokens from the node's final usage; null to use the tokens received.</param>
    private readonly record struct Ending(
        JobStatus Status, JobOutcome? Outcome, string? Error, string? FinishReason = null, int? CompletionTokens = null);
}
