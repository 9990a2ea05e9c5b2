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
    /// Whether <paramref name="exception"/> (or one it wraps) says storage is briefly unreachable rather than that the
    /// request, the schema or the role's privileges are wrong: a database error that passes by itself (see
    /// <see cref="DatabaseErrors"/>: a connection lost, the server restarting, a deadlock, a timeout), a socket error,
    /// a timeout, or one of these passed on by a grain call. A database error that fails the same way every time (a
    /// violated constraint, a missing table or column, a privilege the role lacks) is not, nor is a
    /// <see cref="StorageFailedException"/>. A database error without a SQLSTATE (the client's: a connection refused or
    /// cut, a pool exhausted) counts as transient. Exceptions whose type the receiving silo cannot rebuild arrive as a
    /// fallback carrying the original type's name, which is checked too: a PostgreSQL error by the SQLSTATE its message
    /// starts with, any other Npgsql error (a connection's) as transient.
    /// </summary>
    public static bool IsTransient(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is StorageUnavailableException or SocketException or TimeoutException)
            {
                return true;
            }

            // The server's SQLSTATE decides. A database error without one is the client's (a connection refused or cut,
            // a pool exhausted, a stream that timed out): an outage as far as the caller can tell.
            if (DatabaseErrors.IsTransient(e) is { } database)
            {
                return database;
            }

            if (e is DbException)
            {
                return true;
            }

            if (e is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Any(IsTransient);
            }

            var type = (e as UnavailableExceptionFallbackException)?.ExceptionType;
            if (type is not null && (type.StartsWith("Npgsql.", StringComparison.Ordinal) || type == typeof(SocketException).FullName))
            {
                return true;
            }
        }

        return false;
    }
}
