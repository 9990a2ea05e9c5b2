using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TokenGrid.Grains.Jobs.Retention;

namespace TokenGrid.Storage.Postgres;

/// <summary>
/// Finished jobs still holding content, in <c>tokengrid_job_content_expiry</c> (migration 0007). Every statement is one
/// short round trip: a claim locks only the rows it takes (<c>SKIP LOCKED</c>) and only while it runs.
/// </summary>
public sealed class PostgresJobContentExpiryStore([FromKeyedServices(PostgresLedgerHosting.DataSourceKey)] NpgsqlDataSource dataSource)
    : IJobContentExpiryStore
{
    /// <inheritdoc/>
    public async Task ScheduleAsync(JobContentExpiry expiry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(expiry);
        await using var command = dataSource.CreateCommand("""
            INSERT INTO tokengrid_job_content_expiry (job_id, tenant_id, finished_at, expires_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (job_id) DO UPDATE SET tenant_id = $2, finished_at = $3, expires_at = $4, claimed_until = NULL
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = expiry.JobId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = expiry.TenantId });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = expiry.FinishedAt.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = expiry.ExpiresAt.UtcDateTime });
        await ExecuteAsync(command, c => c.ExecuteNonQueryAsync(cancellationToken));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<JobContentExpiry>> ClaimDueAsync(
        DateTimeOffset now, int limit, DateTimeOffset claimedUntil, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var command = dataSource.CreateCommand("""
            UPDATE tokengrid_job_content_expiry e SET claimed_until = $3
            FROM (
                SELECT job_id FROM tokengrid_job_content_expiry
                WHERE expires_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
                ORDER BY expires_at
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            ) due
            WHERE e.job_id = due.job_id
            RETURNING e.job_id, e.tenant_id, e.finished_at, e.expires_at
            """);
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = claimedUntil.UtcDateTime });
        return await ExecuteAsync(command, async c =>
        {
            await using var reader = await c.ExecuteReaderAsync(cancellationToken);
            var claimed = new List<JobContentExpiry>();
            while (await reader.ReadAsync(cancellationToken))
            {
                claimed.Add(new JobContentExpiry(
                    reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3)));
            }

            return claimed.OrderBy(e => e.ExpiresAt).ToList();
        });
    }

    /// <inheritdoc/>
    public async Task RemoveAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        await using var command = dataSource.CreateCommand("DELETE FROM tokengrid_job_content_expiry WHERE job_id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. jobIds] });
        await ExecuteAsync(command, c => c.ExecuteNonQueryAsync(cancellationToken));
    }

    /// <inheritdoc/>
    public async Task<DateTimeOffset?> OldestFinishedAtAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT min(finished_at) FROM tokengrid_job_content_expiry");
        var oldest = await ExecuteAsync(command, c => c.ExecuteScalarAsync(cancellationToken));
        return oldest is DateTime at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null;
    }

    private async Task<T> ExecuteAsync<T>(NpgsqlCommand command, Func<NpgsqlCommand, Task<T>> run)
    {
        try
        {
            return await run(command);
        }
        catch (Exception e)
        {
            PostgresConnections.ForgetBroken(e, dataSource);
            throw;
        }
    }
}
