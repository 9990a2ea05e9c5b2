using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// A run that failed without reaching its node: nothing ran there, so it is no loss of the job's work, and the
/// dispatcher is told to stop using the node until it reports again instead of placing the job on it once more.
/// </summary>
internal static class UnreachedNode
{
    /// <summary>
    /// Whether a run that failed with <paramref name="error"/> reached nothing: its node's silo is gone as this silo sees
    /// it, or that silo could not be reached and no token of the run had come (a silo dead but not yet declared so, which
    /// still has the most free slots and would be chosen again).
    /// </summary>
    public static bool Is(Exception error, bool tokensArrived) =>
        NodeNotPlaceableException.IsIn(error) || (!tokensArrived && EnqueueRetry.IsSiloLost(error));
}
