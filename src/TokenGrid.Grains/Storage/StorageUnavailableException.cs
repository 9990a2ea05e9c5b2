using System.Data.Common;
using System.Net.Sockets;
using Orleans.Serialization;

namespace TokenGrid.Grains.Storage;

/// <summary>
/// A grain could not save or read its state because the database is unreachable (HTTP 503 with Retry-After). Nothing
/// the caller asked for was applied; the same request can be sent again once the database is back.
/// </summary>
[GenerateSerializer, Alias("tg.StorageUnavailableException")]
public sealed class StorageUnavailableException(string message) : Exception(message)
{
    /// <summary>How long a client should wait before retrying: about one database restart.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Whether <paramref name="exception"/> (or one it wraps) says storage is unreachable rather than that the request is
    /// wrong: a database or socket error, a timeout, or one of these passed on by a grain call. Exceptions whose type
    /// the receiving silo cannot rebuild arrive as a fallback carrying the original type's name, which is checked too.
    /// </summary>
    public static bool IsTransient(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is StorageUnavailableException or DbException or SocketException or TimeoutException)
            {
                return true;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsTransient))
            {
                return true;
            }

            var type = e is UnavailableExceptionFallbackException fallback ? fallback.ExceptionType : e.GetType().FullName;
            if (type is not null && (type.StartsWith("Npgsql.", StringComparison.Ordinal) || type == typeof(SocketException).FullName))
            {
                return true;
            }
        }

        return false;
    }
}
