using Npgsql;

namespace TokenGrid.Storage.Postgres;

/// <summary>
/// What to do with pooled connections once PostgreSQL went away. After a restart every idle pooled connection is dead,
/// and each would fail once more when next used; dropping them at the first failure means the first request after the
/// database is back already succeeds.
/// </summary>
public static class PostgresConnections
{
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
