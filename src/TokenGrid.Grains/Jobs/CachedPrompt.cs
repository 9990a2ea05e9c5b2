using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// Which run's prefix cache hits a job reports as its cached prompt tokens (<see cref="Abstractions.Jobs.JobInfo.CachedPromptTokens"/>):
/// those of the run that computed the prompt, the first whose node took it. A run resumed after a preemption or a
/// failover recomputes the prompt and the output so far as the grid's own cost; its hits (often on the blocks the first
/// run cached) are not the tenant's, so they never replace the first run's figure. The first run reports its figure with
/// its first chunk as well (see <see cref="JobProgress.OnChunk"/>), so it stands when that run never reports its usage
/// (preempted, or its node lost); a job whose first run sent no chunk reports 0.
/// </summary>
internal static class CachedPrompt
{
    /// <summary>
    /// The cached prompt tokens after a run that ended with <paramref name="final"/> (null: no final usage), given the
    /// job's <paramref name="reported"/> figure so far, whether this run <paramref name="computedPrompt"/> (no earlier
    /// run's node took the prompt) and the job's <paramref name="promptTokens"/>, which bound it.
    /// </summary>
    public static int AfterRun(int reported, bool computedPrompt, GenerationFinal? final, int promptTokens) =>
        computedPrompt && final is { Refused: false } ? Math.Clamp(final.CachedPromptTokens, 0, promptTokens) : reported;
}
