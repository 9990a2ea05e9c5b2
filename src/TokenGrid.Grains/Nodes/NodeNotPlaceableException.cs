namespace TokenGrid.Grains.Nodes;

/// <summary>
/// A node grain cannot be placed because, as this silo's membership sees it, no active silo carries the node's silo
/// name: the silo stopped or died, and the node leaves the registry shortly. Nothing ran on it.
/// </summary>
[GenerateSerializer, Alias("tg.NodeNotPlaceableException")]
public sealed class NodeNotPlaceableException(string nodeId, string siloName) : InvalidOperationException(
    $"Node '{nodeId}' cannot be placed: no active silo is named '{siloName}'. The silo may have stopped; its node leaves the registry shortly.")
{
    /// <summary>The node asked for.</summary>
    [Id(0)] public string NodeId { get; } = nodeId;

    /// <summary>Whether <paramref name="exception"/> or one it wraps says a node could not be placed.</summary>
    public static bool IsIn(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is NodeNotPlaceableException)
            {
                return true;
            }
        }

        return false;
    }
}
