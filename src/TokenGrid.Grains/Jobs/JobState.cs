using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// What a job keeps in storage: saved at admission and at its end. Its event log and the text streamed while it
/// runs stay in memory; the output is saved at the end when the spec asks to keep it.
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
}
