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
    /// When <paramref name="exception"/> came from Npgsql, drops the idle connections of every pool opened by
    /// connection string (Orleans' ADO.NET providers), and of <paramref name="dataSource"/> when given.
    /// </summary>
    public static void ForgetBroken(Exception exception, NpgsqlDataSource? dataSource = null)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException)
            {
                NpgsqlConnection.ClearAllPools();
                dataSource?.Clear();
                return;
            }
        }
    }
}
