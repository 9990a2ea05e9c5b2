using Orleans.Runtime.Messaging;
using TokenGrid.Grains.Storage;

namespace TokenGrid.Silo.Problems;

/// <summary>Which failures pass by themselves: the API answers them 503 with Retry-After, and start-up retries them.</summary>
internal static class ClusterFailures
{
    /// <summary>
    /// Whether a grain call failed because a silo is gone or unreachable (until membership declares it dead, calls to its
    /// grains fail or time out).
    /// </summary>
    public static bool IsClusterUnavailable(Exception exception) => exception is SiloUnavailableException
        or OrleansMessageRejectionException or ConnectionFailedException or EnumerationAbortedException
        or TimeoutException;

    /// <summary>Whether storage or a silo of the cluster is briefly unavailable.</summary>
    public static bool IsTransient(Exception exception) =>
        StorageUnavailableException.IsTransient(exception) || IsClusterUnavailable(exception);
}
