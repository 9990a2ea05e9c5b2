using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Nodes;

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
        Ending ending = default;
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

                if (await RequeueAsync(spec, nodeId, preempted: _preempted) is { } refused)
                {
                    nodeId = null;
                    ending = refused;
                    break;
                }

                nodeId = null;
            }
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // Deactivated under a resumable run: the next activation resumes it from the checkpoint saved below.
            suspended = _siloStopping && _cancelReason is null && CannotResume(spec) is null && !IsPastTimeout(spec);
            ending = suspended ? default : CancelledEnding();
        }
        catch (Exception e)
        {
            // The node failed and the job cannot resume, or the scheduler failed: what arrived so far is charged.
            LogRunFailed(logger, e, JobId, nodeId);
            ending = new Ending(JobStatus.Failed, JobOutcome.Failed, e is NodeLostException ? e.Message : $"The node failed: {e.Message}");
        }

        await ReleaseSlotAsync(spec.Model, nodeId);
        if (suspended)
        {
            state.State.Info = Info! with { Status = JobStatus.Queued };
            await CheckpointAsync(force: true);
            return;
        }

        await FinishAsync(ending, nodeId);
    }

    /// <summary>One run on one node: how the job ended, or null when it was preempted and must resume.</summary>
    private async Task<Ending?> RunOnNodeAsync(JobSpec spec, string nodeId, CancellationToken cancellationToken)
    {
        _tokensBeforeRun = _completionTokens;
        _resumeText = _producedTokens.Count == 0 ? null : ResumeText.Create(catalog, spec.Model, _producedTokens, spec.Output?.SkipSpecialTokens == true);
        if (_producedTokens.Count > 0)
        {
            // After a preemption or a failover: where the job goes on, and from which token (0-based) it generates again.
            LogRunResumed(logger, JobId, nodeId, _producedTokens.Count);
        }

        if (_resumeText is { } resumed && spec.Stop.Length > 0
            && resumed.MatchStops(spec.Stop, _emittedChars, spec.Output?.IncludeStopSequence == true) is { Length: > 0 } released)
        {
            OnText(released, 0, spec.KeepOutput);
        }

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
        catch (Exception e) when (NodeNotPlaceableException.IsIn(e) && !cancellationToken.IsCancellationRequested)
        {
            // The node's silo is gone as this silo sees it, while the dispatcher (on another silo, whose view of membership
            // lags) still placed the job there. Nothing ran, so no loss counts: the dispatcher stops using the node and the
            // job queues again.
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
            _nodeLosses++;
            if (CannotResume(spec) is { } reason)
            {
                throw new NodeLostException($"Node '{nodeId}' failed ({e.Message}), and {reason}", e);
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

    private async Task<Ending> GenerateAsync(JobSpec spec, string nodeId, CancellationToken cancellationToken)
    {
        var node = GrainFactory.GetGrain<INodeGrain>(nodeId);
        var run = RunSpec(spec);
        // A resumed run recomputes the tokens produced so far as prompt; the engine counts them as output, so penalties,
        // min_tokens and the seeded random stream go on as if the sequence had never stopped.
        var request = new GenerationSpec(
            JobId, spec.Model, run.PromptTokens, run.MaxTokens, spec.Sampling, spec.Stop, spec.Output, _producedTokens.Count, spec.Choice?.GroupId);
        GenerationFinal? final = null;
        _streamingNode = nodeId;
        await foreach (var chunk in node.GenerateAsync(request).WithCancellation(cancellationToken))
        {
            if (chunk.Final is { } last)
            {
                final = last;
                if (_resumeText?.ReleaseRest() is { Length: > 0 } rest)
                {
                    OnText(rest, 0, spec.KeepOutput);
                }

                break;
            }

            await CheckpointAsync(force: OnChunk(chunk, nodeId, spec.KeepOutput));
            if (_resumeText is { Stopped: true })
            {
                // A stop sequence straddled the interruption: the lost node held its start, this run produced its end.
                // Leaving the stream cancels the node's sequence; the tokens received so far are the job's.
                return new Ending(JobStatus.Succeeded, JobOutcome.Completed, null, "stop", _completionTokens);
            }
        }

        state.State.PromptProcessed |= final is { Refused: false };
        // The node counts this run only; the job's completion covers every run.
        var completion = _tokensBeforeRun + (final?.CompletionTokens ?? 0);
        return final switch
        {
            null => new Ending(JobStatus.Failed, JobOutcome.Failed, $"Node '{nodeId}' ended the sequence without its usage."),
            { Refused: true } => new Ending(JobStatus.Failed, JobOutcome.Failed, final.Error ?? $"Node '{nodeId}' refused the job.", Refused: true),
            { FinishReason: "stop" or "length" } => new Ending(JobStatus.Succeeded, JobOutcome.Completed, null, final.FinishReason, completion),
            _ => new Ending(JobStatus.Failed, JobOutcome.Failed, final.Error ?? $"The sequence ended as {final.FinishReason}.", null, completion),
        };
    }

    /// <summary>Takes a chunk of the node's stream; true when the job just started running (a status to save at once).</summary>
    private bool OnChunk(GenerationChunk chunk, string nodeId, bool keepOutput)
    {
        state.State.PromptProcessed = true;
        var started = Info!.Status == JobStatus.Queued;
        if (started)
        {
            state.State.Info = Info with { Status = JobStatus.Running, NodeId = nodeId, QueuePosition = null, ExpectedWait = null };
            AppendStatus(Info);
        }

        var logprobs = chunk.Logprobs is { } reported && reported.Length == chunk.Tokens ? reported : null;
        if (chunk.TokenIds is { Length: > 0 } ids && ids.Length == chunk.Tokens)
        {
            _producedTokens.AddRange(ids);
            if (logprobs is not null)
            {
                _producedLogprobs.AddRange(logprobs);
            }
        }
        else if (chunk.Tokens > 0)
        {
            // Without the ids the job cannot resume where it stopped, so it is never preempted.
            _resumable = false;
        }

        _completionTokens += chunk.Tokens;
        var text = _resumeText is { } resumed && chunk.TokenIds is { } tokens ? resumed.Release(tokens) : chunk.Text;
        OnText(text, chunk.Tokens, keepOutput, logprobs);
        return started;
    }

    private void OnText(string text, int tokens, bool keepOutput, TokenLogprob[]? logprobs = null)
    {
        if (keepOutput)
        {
            _output.Append(text);
        }

        state.State.Info = Info! with
        {
            CompletionTokens = _completionTokens,
            FirstTokenAt = Info.FirstTokenAt ?? (tokens > 0 ? timeProvider.GetUtcNow() : null),
        };
        AppendTokens(text, tokens, logprobs);
    }

    /// <summary>How a cancelled run ends: by the tenant or client, by the silo stopping, or by its timeout.</summary>
    private Ending CancelledEnding() => _cancelReason switch
    {
        _ when _siloStopping => new Ending(JobStatus.Failed, JobOutcome.Failed, "The job was interrupted: the silo running it stopped."),
        JobOutcomeReason.ClientDisconnected => new Ending(JobStatus.Cancelled, JobOutcome.Disconnected, "The client disconnected."),
        JobOutcomeReason.CancelledByTenant => new Ending(JobStatus.Cancelled, JobOutcome.Cancelled, "Cancelled by the tenant."),
        _ => new Ending(JobStatus.Failed, JobOutcome.TimedOut, $"The job did not finish within {state.State.Spec?.Timeout}."),
    };
}
