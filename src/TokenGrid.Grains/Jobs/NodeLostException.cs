namespace TokenGrid.Grains.Jobs;

/// <summary>A job lost its node to a failure and cannot resume; the message says why.</summary>
internal sealed class NodeLostException(string message, Exception inner) : Exception(message, inner);
