using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Jobs;

public sealed partial class JobGrain
{
    /// <summary>Most times a node may refuse the job (busy, draining) before it fails; each refusal re-queues it.</summary>
    private const int MaxRefusals = 3;

    /// <summary>
    /// Waits for the dispatcher to name a node, runs there until the job ends, is cancelled or times out, and runs
    /// again after each preemption or refusal; then releases the slot and finishes. Never throws.
    /// </summary>
    private async Task RunAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        string? nodeId = null;
        JobEnding ending = default;
        var refusals = 0;
        var suspended = false;
        try
        {
            while (true)
            {
                nodeId = await _placement!.Task.WaitAsync(cancellationToken);
                var run = await RunOnNodeAsync(spec, nodeId, cancellationToken);
                if (run is { Refused: true } && ++refusals <= MaxRefusals)
                {
                    run = null;
                }

                if (run is { } done)
                {
                    ending = done;
                    break;
                }

                if (await RequeueAsync(spec, nodeId, preempted: _preempted) is { } ended)
                {
                    nodeId = null;
                    ending = ended;
                    break;
                }

                nodeId = null;
            }
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // Deactivated under a resumable run: the next activation resumes it from the checkpoint saved below.
            suspended = _siloStopping && _cancelReason is null && _checkpoints.CannotResume(Progress.CompletionTokens) is null && !IsPastTimeout(spec);
            ending = suspended ? default : CancelledEnding;
        }
        catch (Exception e)
        {
            // The node failed and the job cannot resume, no node serves its model any more, or the scheduler failed: what
            // arrived so far is charged.
            LogRunFailed(logger, e, JobId, nodeId);
            // The tenant reads the job's error: it says what happened, never the exception's text (internal addresses,
            // stack traces), which the log line above keeps.
            ending = new JobEnding(JobStatus.Failed, JobOutcome.Failed, e is NodeLostException or ModelUnservedException ? e.Message : "The node failed, and the job could not go on.");
        }

        // The dispatcher frees the node's slot while the tenant settles (see FinishAsync): a round trip fewer between the
        // run's last token and the job's end, which is also when its client can send the next request.
        var released = ReleaseSlotAsync(spec.Model, nodeId);
        if (suspended)
        {
            await released;
            state.State.Info = Info! with { Status = JobStatus.Queued };
            await CheckpointAsync(force: true);
            return;
        }

        await FinishAsync(ending, nodeId, released);
    }

    /// <summary>One run on one node: how the job ended, or null when it was preempted and must resume.</summary>
    private async Task<JobEnding?> RunOnNodeAsync(JobSpec spec, string nodeId, CancellationToken cancellationToken)
    {
        if (_checkpoints.Tokens.Count > 0)
        {
            // After a preemption or a failover: where the job goes on, and from which token (0-based) it generates again.
            LogRunResumed(logger, JobId, nodeId, _checkpoints.Tokens.Count);
        }

        Progress.StartRun(state.State, spec);

        using var preemption = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _preemption = preemption;
        try
        {
            if (_preempted)
            {
                await preemption.CancelAsync();
            }

            return await GenerateAsync(spec, nodeId, preemption.Token);
        }
        catch (OperationCanceledException) when (_preempted && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && UnreachedNode.Is(e, tokensArrived: Progress.TokensSinceRelease > 0))
        {
            // The node's silo is gone as this silo sees it, while the dispatcher (on another silo, whose view of membership
            // lags) still placed the job there; or the silo could not be reached before a token came (dead, not yet
            // declared so). Nothing reached the tenant from this run, so no loss counts: the dispatcher stops using the
            // node until it reports again, and the job queues again (a live node takes it, not the dead one again).
            LogNodeUnreachable(logger, JobId, nodeId);
            try
            {
                await Dispatcher(spec.Model).NodeUnreachableAsync(nodeId);
            }
            catch (Exception notified) when (notified is not OperationCanceledException)
            {
                LogReleaseFailed(logger, notified, JobId, spec.Model);
            }

            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // The node or its silo failed mid-run (a killed silo's calls break when membership declares it dead).
            _checkpoints.NodeLost();
            if (_checkpoints.CannotResume(Progress.CompletionTokens) is { } reason)
            {
                throw new NodeLostException($"Node '{nodeId}' failed, and {reason}", e);
            }

            LogNodeLost(logger, e, JobId, nodeId);
            return null;
        }
        finally
        {
            _preemption = null;
            _streamingNode = null;
        }
    }

    private async Task<JobEnding> GenerateAsync(JobSpec spec, string nodeId, CancellationToken cancellationToken)
    {
        var node = GrainFactory.GetGrain<INodeGrain>(nodeId);
        var request = JobDispatch.Generation(JobId, spec, _checkpoints.Tokens, Info?.Admission);
        GenerationFinal? final = null;
        // The run that takes the prompt first computes it: its prefix cache hits are the tenant's (see CachedPrompt).
        var computesPrompt = !state.State.PromptProcessed;
        _streamingNode = nodeId;
        await foreach (var chunk in node.GenerateAsync(request).WithCancellation(cancellationToken))
        {
            if (chunk.Final is { } last)
            {
                final = last;
                Progress.EndRun(state.State, spec.KeepOutput);
                break;
            }

            await CheckpointAsync(force: Progress.OnChunk(state.State, chunk, nodeId, spec.KeepOutput));
            if (Progress.Stopped)
            {
                // A stop sequence straddled the interruption: the lost node held its start, this run produced its end.
                // Leaving the stream cancels the node's sequence; the tokens received so far are the job's.
                return new JobEnding(JobStatus.Succeeded, JobOutcome.Completed, null, "stop", Progress.CompletionTokens);
            }
        }

        state.State.PromptProcessed |= final is { Refused: false };
        state.State.Info = Info! with { CachedPromptTokens = CachedPrompt.AfterRun(Info.CachedPromptTokens, computesPrompt, final, Info.PromptTokens) };

        // The node counts this run only; the job's completion covers every run.
        return JobEnding.OfRun(final, nodeId, Progress.CompletionAfterRun(final?.CompletionTokens ?? 0));
    }

    /// <summary>How this job ends when its run is cancelled (see <see cref="JobEnding.Cancelled"/>).</summary>
    private JobEnding CancelledEnding => JobEnding.Cancelled(_cancelReason, _siloStopping, state.State.Spec?.Timeout);
}
