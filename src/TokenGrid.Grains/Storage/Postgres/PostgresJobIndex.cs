using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Storage.Postgres;

/// <summary>
/// Tenants' job ids in PostgreSQL's <c>tokengrid_tenant_jobs</c> table (migration 0004): one row per (tenant, job), with
/// an identity column giving the order they were added in.
/// </summary>
/// <remarks>
/// Adds are grouped: every add that arrives while an insert is in flight goes into the next one, one statement and one
/// commit for all of them, so a busy silo pays one round trip per batch rather than per admission. Each caller still
/// learns whether its own job id was new, and only once its row is committed.
/// </remarks>
public sealed class PostgresJobIndex([FromKeyedServices(PostgresLedgerHosting.DataSourceKey)] NpgsqlDataSource dataSource) : IJobIndex
{
    private readonly Lock _lock = new();
    private List<PendingAdd> _queued = [];
    private bool _inserting;

    /// <inheritdoc/>
    public Task<bool> AddAsync(string tenantId, string jobId, CancellationToken cancellationToken = default)
    {
        var add = new PendingAdd(tenantId, jobId);
        bool start;
        lock (_lock)
        {
            _queued.Add(add);
            start = !_inserting;
            _inserting = true;
        }

        if (start)
        {
            _ = Task.Run(InsertQueuedAsync, CancellationToken.None);
        }

        return add.IsNew.Task.WaitAsync(cancellationToken);
    }

    private async Task InsertQueuedAsync()
    {
        while (true)
        {
            List<PendingAdd> batch;
            lock (_lock)
            {
                if (_queued.Count == 0)
                {
                    _inserting = false;
                    return;
                }

                batch = _queued;
                _queued = [];
            }

            try
            {
                var inserted = await InsertAsync(batch);
                foreach (var add in batch)
                {
                    // The first add of a pair within one batch is the one that inserted it; a repeat finds it taken.
                    add.IsNew.TrySetResult(inserted.Remove((add.TenantId, add.JobId)));
                }
            }
            catch (Exception e)
            {
                PostgresConnections.ForgetBroken(e, dataSource);
                foreach (var add in batch)
                {
                    add.IsNew.TrySetException(e);
                }
            }
        }
    }

    /// <summary>Inserts the batch in arrival order; the pairs that were not there before.</summary>
    private async Task<HashSet<(string, string)>> InsertAsync(List<PendingAdd> batch)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO tokengrid_tenant_jobs (tenant_id, job_id)
            SELECT t, j FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS add(t, j, n) ORDER BY n
            ON CONFLICT (tenant_id, job_id) DO NOTHING
            RETURNING tenant_id, job_id
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(a => a.TenantId)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(a => a.JobId)] });
        var inserted = new HashSet<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            inserted.Add((reader.GetString(0), reader.GetString(1)));
        }

        return inserted;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<string>> ListAsync(string tenantId, string? beforeJobId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);

        // An unknown "before" job compares against null and yields nothing, as the interface asks.
        await using var command = dataSource.CreateCommand("""
            SELECT job_id FROM tokengrid_tenant_jobs
            WHERE tenant_id = $1
              AND ($2::text IS NULL
                   OR position < (SELECT position FROM tokengrid_tenant_jobs WHERE tenant_id = $1 AND job_id = $2))
            ORDER BY position DESC
            LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)beforeJobId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(reader.GetString(0));
        }

        return jobs;
    }

    private sealed record PendingAdd(string TenantId, string JobId)
    {
        public TaskCompletionSource<bool> IsNew { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
