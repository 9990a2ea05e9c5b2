using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// What a job keeps in storage: saved at admission, at every status change, at most every
/// <see cref="JobRecoveryOptions.CheckpointInterval"/> while it runs (a checkpoint), and at its end. Its event log stays in
/// memory; a job reactivated after its silo died rebuilds the text streamed so far from <see cref="ProducedTokens"/> and
/// resumes by recomputation. The output is saved at the end when the spec asks to keep it.
/// </summary>
[GenerateSerializer, Alias("tg.JobState")]
public sealed class JobState
{
    /// <summary>What was asked for; null until submitted.</summary>
    [Id(0)] public JobSpec? Spec { get; set; }

    /// <summary>The job as shown; null until submitted.</summary>
    [Id(1)] public JobInfo? Info { get; set; }

    /// <summary>How it ended, for the ledger; null while running and for rejected jobs.</summary>
    [Id(2)] public JobOutcome? Outcome { get; set; }

    /// <summary>Whether the prompt reached a node that took it, so it is charged.</summary>
    [Id(3)] public bool PromptProcessed { get; set; }

    /// <summary>Token ids produced over every run, as of the last checkpoint.</summary>
    [Id(4)] public int[] ProducedTokens { get; set; } = [];

    /// <summary>Sequence of the last event as of the last checkpoint (or the end), so sequences stay stable after a reactivation.</summary>
    [Id(5)] public long LastSequence { get; set; }

    /// <summary>Characters of text streamed to watchers as of the last checkpoint.</summary>
    [Id(6)] public long EmittedChars { get; set; }

    /// <summary>Times the job lost its node or its own grain to a silo failure and resumed.</summary>
    [Id(7)] public int NodeLosses { get; set; }

    /// <summary>
    /// Log probabilities of <see cref="ProducedTokens"/> (one each) when the job asked for them: as of the last checkpoint
    /// while it runs, and of the whole output at the end for a job that keeps its output; else empty.
    /// </summary>
    [Id(8)] public TokenLogprob[] Logprobs { get; set; } = [];

    /// <summary>Whether the finished job's content expiry is recorded in the <c>IJobContentExpiryStore</c>, so a sweep will find it.</summary>
    [Id(9)] public bool ContentExpiryScheduled { get; set; }
}
