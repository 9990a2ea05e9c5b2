using System.Text;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Catalog;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// What a job has produced over every run: the completion tokens it counts, the text it streams to its watchers (into its
/// <see cref="JobEventLog"/>) and keeps when its spec keeps output, and the token ids it records to resume (into its
/// <see cref="JobCheckpoints"/>). A resumed run's text is decoded by the job itself (<see cref="ResumeText"/>), so a
/// character or a stop sequence straddling the interruption comes out as if the run had never stopped. Not thread-safe:
/// the job grain's scheduler is its lock.
/// </summary>
internal sealed class JobProgress(ModelCatalog catalog, JobEventLog log, JobCheckpoints checkpoints, TimeProvider timeProvider)
{
    private readonly StringBuilder _output = new();
    private ResumeText? _resumeText;
    private int _tokensAtRelease;
    private bool _startedResumed;

    /// <summary>Completion tokens produced so far, over every run.</summary>
    public int CompletionTokens { get; private set; }

    /// <summary>Tokens produced since the run started or the job last gave its slot back (what the dispatcher is told).</summary>
    public int TokensSinceRelease => CompletionTokens - _tokensAtRelease;

    /// <summary>True once the job's own matcher found a stop sequence that straddled the interruption: the run ends by "stop".</summary>
    public bool Stopped => _resumeText is { Stopped: true };

    /// <summary>
    /// The output an ended job keeps: the text streamed when <paramref name="spec"/> keeps output, else null.
    /// </summary>
    public string? Kept(JobSpec? spec) => spec?.KeepOutput == true ? _output.ToString() : null;

    /// <summary>
    /// Takes back what a job that was <paramref name="interrupted"/> (its grain died with its silo) had produced by its
    /// last checkpoint in <paramref name="saved"/>: the checkpoints, the token count, and the text its watchers had (the
    /// saved tokens decoded, cut at the characters streamed), which starts the event log and the kept output.
    /// </summary>
    public void Restore(JobState saved, JobInfo interrupted)
    {
        ArgumentNullException.ThrowIfNull(saved);
        ArgumentNullException.ThrowIfNull(interrupted);
        checkpoints.Restore(saved, interrupted);
        CompletionTokens = interrupted.CompletionTokens;
        _tokensAtRelease = CompletionTokens;
        var produced = checkpoints.Tokens;
        var text = saved.Spec is { } known && produced.Count > 0 ? ResumeText.Decode(catalog, known.Model, produced, known.Output) : "";
        text = text[..(int)Math.Min(text.Length, saved.EmittedChars)];
        if (saved.Spec?.KeepOutput == true)
        {
            _output.Append(text);
        }

        log.Restore(text, CompletionTokens, [.. checkpoints.Logprobs], saved.LastSequence);
        saved.Info = interrupted with { CompletionTokens = CompletionTokens };
    }

    /// <summary>
    /// Starts a run of <paramref name="spec"/>. After a preemption or a failover the job decodes the run's text itself,
    /// primed with the tokens produced so far; with stop sequences, text the lost node held back that turns out
    /// releasable is streamed at once.
    /// </summary>
    public void StartRun(JobState state, JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (_startedResumed)
        {
            // StartResumedRun prepared this run as the job queued again, and no chunk has come since.
            _startedResumed = false;
            return;
        }

        PrepareRun(state, spec);
    }

    private void PrepareRun(JobState state, JobSpec spec)
    {
        _tokensAtRelease = CompletionTokens;
        _resumeText = checkpoints.Tokens.Count == 0 ? null : ResumeText.Create(catalog, spec.Model, checkpoints.Tokens, spec.Output);
        if (_resumeText is { } resumed && (spec.Stop.Length > 0 || spec.TemplateStop.Length > 0)
            && resumed.MatchStops(spec.Stop, log.EmittedChars, spec.TemplateStop) is { Length: > 0 } released)
        {
            Append(state, released, 0, spec.KeepOutput);
        }
    }

    /// <summary>
    /// Starts a resumed run of <paramref name="spec"/> (see <see cref="StartRun"/>) and returns the job's ending when the
    /// tokens produced so far already end it, as when the lost node streamed the last of them but died before its
    /// ending. It succeeds as the node's engine would have ended it: by "stop" (an end-of-sequence or stop token id came
    /// last, or the text holds a stop sequence) or by "length" (max_tokens were produced). Else null, and the run goes on
    /// (resumed anyway, it would ask a node for no tokens at all, or generate past its end). An ended run streams what
    /// the job's decoding still held back.
    /// </summary>
    public JobEnding? StartResumedRun(JobState state, JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        PrepareRun(state, spec);
        var produced = checkpoints.Tokens;
        var ended = produced.Count > 0 && (Stopped || _resumeText?.EndsSequence(produced[^1]) == true);
        // At max_tokens under an output constraint, only the node, which rebuilds the constraint from the tokens, can
        // tell whether the last one completed the value (stop) or not (length): it is asked for no tokens more.
        var valueMayEnd = spec.OutputSchema is not null && !spec.OutputSchemaRepeats;
        if (!ended && (produced.Count < spec.MaxTokens || valueMayEnd))
        {
            // The run goes on once placed: its StartRun finds it prepared, and does not decode the produced tokens again.
            _startedResumed = true;
            return null;
        }

        EndRun(state, spec.KeepOutput);
        // Flushing the text at max_tokens can still complete a stop sequence: the engine then ends by "stop" too.
        return new JobEnding(JobStatus.Succeeded, JobOutcome.Completed, null, ended || Stopped ? "stop" : "length", CompletionTokens);
    }

    /// <summary>
    /// Takes a chunk of node <paramref name="nodeId"/>'s stream: records its ids, counts its tokens and streams its text
    /// (the job's own decoding on a resumed run). True when the job just started running (a status to save at once).
    /// </summary>
    public bool OnChunk(JobState state, GenerationChunk chunk, string nodeId, bool keepOutput)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(chunk);
        _startedResumed = false;
        if (!state.PromptProcessed && chunk.CachedPromptTokens is { } cached)
        {
            // The run that takes the prompt first reports its prefix cache hits with its first tokens, so they stand when
            // the run ends without its usage (preempted, or its node lost). Later runs' hits are not the tenant's.
            state.Info = state.Info! with { CachedPromptTokens = Math.Clamp(cached, 0, state.Info.PromptTokens) };
        }

        state.PromptProcessed = true;
        var started = state.Info!.Status == JobStatus.Queued;
        if (started)
        {
            state.Info = state.Info with { Status = JobStatus.Running, NodeId = nodeId, QueuePosition = null, ExpectedWait = null };
            log.AppendStatus(state.Info);
        }

        var (ids, count) = (chunk.TokenIds, chunk.Tokens);
        var logprobs = chunk.Logprobs is { } reported && reported.Length == count ? reported : null;
        var text = chunk.Text;
        if (_resumeText is { } resumed && ids is { } tokens && tokens.Length == count)
        {
            // A stop sequence that straddled the interruption ends the run at the token completing it. The node, whose
            // matcher never saw the stop's start, went on within the chunk: those tokens are neither counted nor kept.
            text = resumed.Release(tokens, out var taken);
            if (taken < count)
            {
                (ids, count, logprobs) = (ids[..taken], taken, logprobs?[..taken]);
            }
        }

        // Without the ids the job cannot resume where it stopped, so it is never preempted.
        checkpoints.Record(ids, count, logprobs);
        CompletionTokens += count;
        Append(state, text, count, keepOutput, logprobs);
        return started;
    }

    /// <summary>The run's final chunk arrived: streams what the job's own decoding still held back.</summary>
    public void EndRun(JobState state, bool keepOutput)
    {
        if (_resumeText?.ReleaseRest() is { Length: > 0 } rest)
        {
            Append(state, rest, 0, keepOutput);
        }
    }

    /// <summary>The job's completion tokens over every run, when this run's node counted <paramref name="runTokens"/>.</summary>
    public int CompletionAfterRun(int runTokens) => _tokensAtRelease + runTokens;

    /// <summary>The job ended with <paramref name="exact"/> completion tokens (null: those received); returns the count.</summary>
    public int Finish(int? exact) => CompletionTokens = exact ?? CompletionTokens;

    /// <summary>The dispatcher was told what this run produced: later runs count from here.</summary>
    public void SlotReleased() => _tokensAtRelease = CompletionTokens;

    /// <summary>Forgets the kept output (the job's content was deleted).</summary>
    public void Erase() => _output.Clear();

    private void Append(JobState state, string text, int tokens, bool keepOutput, TokenLogprob[]? logprobs = null)
    {
        if (keepOutput)
        {
            _output.Append(text);
        }

        state.Info = state.Info! with
        {
            CompletionTokens = CompletionTokens,
            FirstTokenAt = state.Info.FirstTokenAt ?? (tokens > 0 ? timeProvider.GetUtcNow() : null),
        };
        log.AppendTokens(text, tokens, logprobs);
    }
}
