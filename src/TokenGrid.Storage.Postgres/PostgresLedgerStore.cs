using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Ledger;

namespace TokenGrid.Storage.Postgres;

/// <summary>
/// The token ledger in PostgreSQL's append-only <c>tokengrid_ledger</c> table (migrations 0004 and 0006, documented in
/// docs/ledger.md): the read side. Lines are written by <see cref="PostgresTenantStore"/> with the state change they
/// record.
/// </summary>
public sealed class PostgresLedgerStore([FromKeyedServices(PostgresLedgerHosting.DataSourceKey)] NpgsqlDataSource dataSource) : ILedgerStore
{
    private const string Columns =
        "sequence, at, tenant_id, job_id, model, kind, tokens, quota, charged_after, reserved_after, balance_after, prompt_tokens, completion_tokens";

    /// <inheritdoc/>
    public async Task<LedgerPage> ReadAsync(string tenantId, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var command = dataSource.CreateCommand(
            $"SELECT {Columns} FROM tokengrid_ledger WHERE tenant_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSequence });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)limit + 1 });
        var entries = await ReadEntriesAsync(command, cancellationToken);

        // One line more than asked says whether another page follows.
        if (entries.Count <= limit)
        {
            return new LedgerPage(entries, null);
        }

        entries.RemoveAt(limit);
        return new LedgerPage(entries, entries[^1].Sequence);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<LedgerEntry>> FindJobAsync(string tenantId, string jobId, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {Columns} FROM tokengrid_ledger WHERE tenant_id = $1 AND job_id = $2 ORDER BY sequence");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        return await ReadEntriesAsync(command, cancellationToken);
    }

    /// <summary>The <c>kind</c> column's value for <paramref name="kind"/>.</summary>
    public static string KindName(LedgerEntryKind kind) => kind switch
    {
        LedgerEntryKind.Reserve => "reserve",
        LedgerEntryKind.Charge => "charge",
        LedgerEntryKind.Refund => "refund",
        LedgerEntryKind.PeriodReset => "period_reset",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown ledger entry kind."),
    };

    private static LedgerEntryKind ParseKind(string name) => name switch
    {
        "reserve" => LedgerEntryKind.Reserve,
        "charge" => LedgerEntryKind.Charge,
        "refund" => LedgerEntryKind.Refund,
        "period_reset" => LedgerEntryKind.PeriodReset,
        _ => throw new InvalidDataException($"Unknown ledger entry kind '{name}'."),
    };

    private static async Task<List<LedgerEntry>> ReadEntriesAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<LedgerEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new LedgerEntry(
                reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), ParseKind(reader.GetString(5)), reader.GetInt64(6), reader.GetInt64(7),
                reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11), reader.GetInt64(12)));
        }

        return entries;
    }
}
