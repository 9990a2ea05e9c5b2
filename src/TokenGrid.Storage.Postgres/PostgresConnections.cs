using Npgsql;

namespace TokenGrid.Storage.Postgres;

/// <summary>
/// What to do with pooled connections once PostgreSQL went away. After a restart every idle pooled connection is dead,
/// and each would fail once more when next used; dropping them at the first failure means the first request after the
/// database is back already succeeds.
/// </summary>
public static class PostgresConnections
{
    /// <summary>The application name of the connections of the pool the tenant store, ledger, job index and statements share.</summary>
    public const string StoresApplicationName = "tokengrid-stores";

    /// <summary>The application name of Orleans' providers' connections (grain state, membership, reminders), which share one pool.</summary>
    public const string OrleansApplicationName = "tokengrid-orleans";

    /// <summary>The application name of the connections that wait for the database at startup and migrate it.</summary>
    public const string StartupApplicationName = "tokengrid-startup";

    /// <summary>
    /// <paramref name="connectionString"/> with <c>Application Name</c> set to <paramref name="applicationName"/> unless it
    /// names one already, so an operator sees in PostgreSQL's <c>pg_stat_activity</c> which part of the silo holds a
    /// connection.
    /// </summary>
    public static string Named(string connectionString, string applicationName)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(settings.ApplicationName))
        {
            settings.ApplicationName = applicationName;
        }

        return settings.ConnectionString;
    }

    /// <summary>
    /// When <paramref name="exception"/> says the server or the connection went away, drops the idle connections of every
    /// pool opened by connection string (Orleans' ADO.NET providers), and of <paramref name="dataSource"/> when given.
    /// A statement that failed, or a command that timed out, keeps them: the database is there, perhaps slow, and
    /// reconnecting every pooled connection would make it slower (Npgsql breaks the one connection that timed out).
    /// </summary>
    public static void ForgetBroken(Exception exception, NpgsqlDataSource? dataSource = null)
    {
        if (IsConnectionLost(exception))
        {
            NpgsqlConnection.ClearAllPools();
            dataSource?.Clear();
        }
    }

    /// <summary>
    /// Whether <paramref name="exception"/> (or one it wraps) says the connection is gone: PostgreSQL's connection
    /// errors (class 08) and its shutdown and startup errors (57P01–57P03), or Npgsql failing to read or write the socket.
    /// </summary>
    public static bool IsConnectionLost(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException postgres:
                    return postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
                        || postgres.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow;
                case NpgsqlException { InnerException: IOException or System.Net.Sockets.SocketException or EndOfStreamException }:
                    return true;
            }
        }

        return false;
    }
}
