using System.Data.Common;
using Orleans.Serialization;

namespace TokenGrid.Grains.Storage;

/// <summary>
/// The SQLSTATE of a database error, and whether it passes by itself: the server restarting or out of resources, a
/// connection lost, a deadlock or serialization failure, a statement cancelled by a timeout. Everything else (a violated
/// constraint, a missing table or column, a privilege the role lacks) fails the same way every time.
/// </summary>
/// <remarks>
/// Where the exception is whole, Npgsql's own <see cref="DbException.IsTransient"/> decides on the server's errors (an
/// error of Npgsql's own, without a SQLSTATE, is a connection's: <see cref="StorageUnavailableException.IsTransient"/>
/// counts it as an outage). An exception that crossed silos is rebuilt by Orleans with its message but without
/// Npgsql's fields (its <see cref="DbException.SqlState"/> is null), or arrives as a fallback naming its type: then the
/// SQLSTATE is read from the message, which Npgsql starts with it ("42501: permission denied for table …"), and
/// <see cref="IsTransientState"/> decides, which a test holds to Npgsql's verdict for every SQLSTATE Npgsql names.
/// </remarks>
public static class DatabaseErrors
{
    /// <summary>
    /// The SQLSTATE of the PostgreSQL error <paramref name="exception"/> is or wraps (also when it crossed silos, or was
    /// wrapped by a grain in a <see cref="StorageFailedException"/>), or null when it holds none.
    /// </summary>
    public static string? SqlState(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (OwnSqlState(e) is { } state)
            {
                return state;
            }

            if (e is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Select(SqlState).FirstOrDefault(s => s is not null);
            }
        }

        return null;
    }

    /// <summary>
    /// Whether a PostgreSQL error of <paramref name="sqlState"/> may pass by itself: those Npgsql counts as transient
    /// (classes 53 and 58, 40001, 40P01, 55P03, 55006, 55000, 57P01–57P03, 57P05, the connection errors of class 08),
    /// every code of class 08, and 57014 (a statement cancelled, as <c>statement_timeout</c> does).
    /// </summary>
    public static bool IsTransientState(string sqlState) =>
        sqlState.StartsWith("08", StringComparison.Ordinal) || sqlState.StartsWith("53", StringComparison.Ordinal) || sqlState is
            "40001" or "40P01" // serialization failure, deadlock
            or "55000" or "55006" or "55P03" // object not in prerequisite state, object in use, lock not available
            or "57014" or "57P01" or "57P02" or "57P03" or "57P05" // cancelled, admin and crash shutdown, cannot connect now, idle session timeout
            or "58000" or "58030"; // system error, I/O error

    /// <summary>
    /// Whether <paramref name="exception"/> is or wraps a database error that fails the same way every time (see
    /// <see cref="IsTransientState"/>), or a <see cref="StorageFailedException"/>.
    /// </summary>
    public static bool IsPermanent(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (IsTransient(e) is { } transient)
            {
                return !transient;
            }

            if (e is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Any(IsPermanent);
            }
        }

        return false;
    }

    /// <summary>Whether a database error passes by itself (see the class remarks); null when it is no database error.</summary>
    internal static bool? IsTransient(Exception e) => e switch
    {
        StorageFailedException => false,
        DbException { SqlState: { } state } db => db.IsTransient || IsTransientState(state),
        _ when OwnSqlState(e) is { } state => IsTransientState(state),
        _ => null,
    };

    /// <summary>The SQLSTATE <paramref name="e"/> itself carries, not counting what it wraps.</summary>
    private static string? OwnSqlState(Exception e) => e switch
    {
        StorageFailedException failed => failed.SqlState,
        DbException { SqlState: { } state } => state,
        DbException db when IsPostgresException(db.GetType().FullName) => FromMessage(db.Message),
        UnavailableExceptionFallbackException fallback when IsPostgresException(fallback.ExceptionType) => FromMessage(fallback.Message),
        _ => null,
    };

    /// <summary>Whether <paramref name="typeName"/> is Npgsql's PostgresException (a server's error, not a connection's).</summary>
    private static bool IsPostgresException(string? typeName) =>
        typeName is not null && typeName.StartsWith("Npgsql.", StringComparison.Ordinal) && typeName.EndsWith(".PostgresException", StringComparison.Ordinal);

    /// <summary>The SQLSTATE a PostgreSQL error's message starts with: five digits or capitals, then ": ".</summary>
    private static string? FromMessage(string message) =>
        message.Length > 7 && message[5] == ':' && message[6] == ' ' && message[..5].All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterUpper(c))
            ? message[..5]
            : null;
}
