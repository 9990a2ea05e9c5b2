using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// What a job needs to resume after losing its node or its own grain: the token ids produced over every run (a resumed
/// run's prompt is the original prompt followed by them) with their log probabilities, whether that record is whole, how
/// many times the job lost its node, and when it was last saved (<see cref="IsDue"/> throttles checkpoints to one per
/// <see cref="JobRecoveryOptions.CheckpointInterval"/>). Not thread-safe: the job grain's scheduler is its lock.
/// </summary>
public sealed class JobCheckpoints(JobRecoveryOptions options)
{
    private readonly List<int> _tokens = [];
    private readonly List<TokenLogprob> _logprobs = [];
    private DateTimeOffset _savedAt;

    /// <summary>Token ids produced so far, over every run.</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>Log probabilities of <see cref="Tokens"/>, one each, when the job asked for them (else empty).</summary>
    public IReadOnlyList<TokenLogprob> Logprobs => _logprobs;

    /// <summary>Whether every token produced has its id, so a run can resume where the last one stopped.</summary>
    public bool Resumable { get; private set; } = true;

    /// <summary>Times the job lost its node or its own grain to a silo failure.</summary>
    public int NodeLosses { get; private set; }

    /// <summary>
    /// Takes the restored record of a new activation of a job that was <paramref name="interrupted"/>: one more node
    /// loss when it was running, and resumable when the saved ids cover every token it produced.
    /// </summary>
    public void Restore(JobState saved, JobInfo interrupted)
    {
        ArgumentNullException.ThrowIfNull(saved);
        ArgumentNullException.ThrowIfNull(interrupted);
        _tokens.AddRange(saved.ProducedTokens);
        _logprobs.AddRange(saved.Logprobs);
        Resumable = _tokens.Count == interrupted.CompletionTokens;
        NodeLosses = saved.NodeLosses + (interrupted.Status == JobStatus.Running ? 1 : 0);
    }

    /// <summary>
    /// Records the <paramref name="tokens"/> of a chunk: their ids (and log probabilities) when the node reported one per
    /// token; without them the job can no longer resume where it stopped.
    /// </summary>
    public void Record(int[]? ids, int tokens, TokenLogprob[]? logprobs)
    {
        if (ids is { Length: > 0 } && ids.Length == tokens)
        {
            _tokens.AddRange(ids);
            if (logprobs is not null)
            {
                _logprobs.AddRange(logprobs);
            }
        }
        else if (tokens > 0)
        {
            Resumable = false;
        }
    }

    /// <summary>Counts a lost node.</summary>
    public void NodeLost() => NodeLosses++;

    /// <summary>Why the job, with <paramref name="completionTokens"/> produced, cannot resume after a loss; null when it can.</summary>
    public string? CannotResume(int completionTokens) =>
        NodeLosses > options.MaxNodeLosses ? $"it lost its node {NodeLosses} times, more than the {options.MaxNodeLosses} allowed."
        : completionTokens == 0 ? null
        : !Resumable ? "its node did not report the token ids needed to resume."
        : null;

    /// <summary>
    /// Whether a checkpoint is to be saved at <paramref name="now"/>: when <paramref name="force"/>d, or once the interval
    /// passed since the last one. True starts a new interval.
    /// </summary>
    public bool IsDue(DateTimeOffset now, bool force)
    {
        if (!force && now - _savedAt < options.CheckpointInterval)
        {
            return false;
        }

        _savedAt = now;
        return true;
    }

    /// <summary>Writes the checkpoint into <paramref name="state"/>, with the stream position of <paramref name="log"/>.</summary>
    public void SaveTo(JobState state, JobEventLog log)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(log);
        state.ProducedTokens = [.. _tokens];
        state.Logprobs = [.. _logprobs];
        state.LastSequence = log.LastSequence;
        state.EmittedChars = log.EmittedChars;
        state.NodeLosses = NodeLosses;
    }

    /// <summary>
    /// The log probabilities an ended job keeps: all of them when it keeps its output and they cover its
    /// <paramref name="completionTokens"/> (a later watch replays them), else none.
    /// </summary>
    public TokenLogprob[] Kept(bool keepOutput, int completionTokens) =>
        keepOutput && _logprobs.Count == completionTokens ? [.. _logprobs] : [];

    /// <summary>Forgets the log probabilities (the job's content was deleted).</summary>
    public void EraseLogprobs() => _logprobs.Clear();
}
