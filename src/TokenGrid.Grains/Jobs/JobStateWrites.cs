using Orleans.Storage;

namespace TokenGrid.Grains.Jobs;

/// <summary>How a job grain saves its state when another activation of the job may have written it.</summary>
internal static class JobStateWrites
{
    /// <summary>
    /// Saves the state. A version conflict means another activation of this job wrote since this one read: the one being
    /// deactivated as this one took over (after a silo failure). The live activation is the job from now on and writes
    /// over it; a <paramref name="deactivating"/> one leaves the newer state alone.
    /// </summary>
    public static async Task WriteAsync(IPersistentState<JobState> state, bool deactivating)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (InconsistentStateException) when (!deactivating)
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
}
