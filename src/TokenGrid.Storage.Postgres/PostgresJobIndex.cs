using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TokenGrid.Grains.JobIndex;

namespace TokenGrid.Storage.Postgres;

/// <summary>
/// Tenants' job ids in PostgreSQL's <c>tokengrid_tenant_jobs</c> table (migration 0004): one row per (tenant, job), with
/// an identity column giving the order they were added in.
/// </summary>
/// <remarks>Rows are added by <see cref="PostgresTenantStore"/> in the save that decided the job.</remarks>
public sealed class PostgresJobIndex([FromKeyedServices(PostgresLedgerHosting.DataSourceKey)] NpgsqlDataSource dataSource) : IJobIndex
{
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
}
