namespace TokenGrid.Grains.Jobs;

/// <summary>
/// The job waited for a node, and no node of the cluster has served its model for longer than
/// <c>TokenGrid:Scheduling:UnservedModelGrace</c>; the message (its dispatcher's) says so.
/// </summary>
internal sealed class ModelUnservedException(string message) : Exception(message);
