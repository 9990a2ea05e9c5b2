using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;
using TokenGrid.Grains.Audit;

namespace TokenGrid.Storage.Postgres;

/// <summary>
/// The audit log in PostgreSQL's append-only <c>tokengrid_audit_log</c> (migration 0010): the database numbers the
/// entries, and triggers refuse UPDATE, DELETE and TRUNCATE.
/// </summary>
public sealed class PostgresAuditLog([FromKeyedServices(PostgresLedgerHosting.DataSourceKey)] NpgsqlDataSource dataSource) : IAuditLog
{
    /// <inheritdoc/>
    public async Task<AuditEntry> AppendAsync(AuditChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

            // Appends one at a time (readers do not wait): an identity value is taken before its row commits, so without
            // the lock a reader could see sequence 8 before 7 commits and page past 7 for good. Admin actions are rare.
            await using (var serialize = new NpgsqlCommand("LOCK TABLE tokengrid_audit_log IN SHARE ROW EXCLUSIVE MODE", connection, transaction))
            {
                await serialize.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var insert = new NpgsqlCommand("""
                INSERT INTO tokengrid_audit_log (at, actor, action, target, value_before, value_after) VALUES ($1, $2, $3, $4, $5, $6)
                RETURNING sequence, at
                """, connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = change.At.UtcDateTime });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = change.Actor });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = change.Action });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = change.Target });
            insert.Parameters.Add(Json(change.Before));
            insert.Parameters.Add(Json(change.After));
            long sequence;
            DateTimeOffset at;
            await using (var reader = await insert.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                sequence = reader.GetInt64(0);
                at = reader.GetFieldValue<DateTimeOffset>(1);
            }

            await transaction.CommitAsync(cancellationToken);
            return new AuditEntry(sequence, change with { At = at });
        }
        catch (Exception e)
        {
            PostgresConnections.ForgetBroken(e, dataSource);
            throw;
        }
    }

    /// <inheritdoc/>
    public async Task<AuditPage> ReadAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);

        // Only the filters given, so each query can use its index (by action or by target, in sequence order).
        var sql = "SELECT sequence, at, actor, action, target, value_before, value_after FROM tokengrid_audit_log WHERE sequence > $1"
            + (query.Action is null ? "" : " AND action = $3")
            + (query.Target is null ? "" : query.Action is null ? " AND target = $3" : " AND target = $4")
            + " ORDER BY sequence LIMIT $2";
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = query.After });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)query.Limit + 1 });
        foreach (var filter in new[] { query.Action, query.Target }.OfType<string>())
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = filter });
        }

        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var entries = new List<AuditEntry>();
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(new AuditEntry(reader.GetInt64(0), new AuditChange(
                    reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6))));
            }

            return AuditPages.Of(entries, query.Limit);
        }
        catch (Exception e)
        {
            PostgresConnections.ForgetBroken(e, dataSource);
            throw;
        }
    }

    private static NpgsqlParameter Json(string? document) =>
        new() { NpgsqlDbType = NpgsqlDbType.Json, Value = document is null ? DBNull.Value : document };
}
