using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Ledger;

namespace TokenGrid.Storage.Postgres;

/// <summary>
/// The token ledger in PostgreSQL's append-only <c>tokengrid_ledger</c> table (migrations 0004, 0006, 0009, 0012 and 0015, documented in
/// docs/ledger.md and docs/billing.md): the read side. Lines are written by <see cref="PostgresTenantStore"/> with the state change they
/// record.
/// </summary>
public sealed class PostgresLedgerStore([FromKeyedServices(PostgresLedgerHosting.DataSourceKey)] NpgsqlDataSource dataSource) : ILedgerStore
{
    private const string Columns =
        "l.sequence, l.at, l.tenant_id, l.job_id, l.model, l.kind, l.tokens, l.quota, l.charged_after, l.reserved_after, l.balance_after, " +
        "l.prompt_tokens, l.completion_tokens, l.spend_micros, l.spend_charged_after, l.spend_reserved_after, " +
        "c.direction, c.tokens, c.currency, c.price_version, c.unit_price_micros, c.list_micros, c.discount_micros, c.subsidy_micros, " +
        "c.tenant_micros, c.program_id, c.node_id, c.silo, c.region, c.home_region, l.cached_prompt_tokens";

    /// <summary>
    /// A charge line's priced rows follow it, prompt first ('prompt' sorts after 'completion'): from the line's own
    /// columns (migration 0015), or from the rows written before that in migration 0014's table or migration 0009's.
    /// Joined per line (lateral), so each source is read by its key; a join with the <c>tokengrid_charges</c> view
    /// instead is planned as a scan of every priced row.
    /// </summary>
    private const string WithCharges = """
        LEFT JOIN LATERAL (
            SELECT b.direction, b.tokens, b.currency, b.price_version, b.unit_price_micros, b.list_micros, b.discount_micros,
                   b.subsidy_micros, b.tenant_micros, b.program_id, b.node_id, b.silo, b.region, b.home_region
            FROM tokengrid_charges_by_direction AS b
            WHERE b.tenant_id = l.tenant_id AND b.sequence = l.sequence
            UNION ALL
            SELECT d.direction, d.tokens, s.currency, s.price_version, d.unit_price_micros, d.list_micros, d.discount_micros,
                   d.subsidy_micros, d.tenant_micros, s.program_id, s.node_id, s.silo, s.region, s.home_region
            FROM tokengrid_charge_lines_separate AS s
            CROSS JOIN LATERAL (VALUES
                ('prompt'::text, s.prompt_tokens, s.prompt_unit_price_micros, s.prompt_list_micros, s.prompt_discount_micros,
                 s.prompt_subsidy_micros, s.prompt_tenant_micros),
                ('completion'::text, s.completion_tokens, s.completion_unit_price_micros, s.completion_list_micros,
                 s.completion_discount_micros, s.completion_subsidy_micros, s.completion_tenant_micros))
                AS d(direction, tokens, unit_price_micros, list_micros, discount_micros, subsidy_micros, tenant_micros)
            WHERE s.tenant_id = l.tenant_id AND s.sequence = l.sequence AND d.tokens IS NOT NULL
            UNION ALL
            SELECT d.direction, d.tokens, l.currency, l.price_version, d.unit_price_micros, d.list_micros, d.discount_micros,
                   d.subsidy_micros, d.tenant_micros, l.program_id, l.node_id, l.silo, l.region, l.home_region
            FROM (VALUES
                ('prompt'::text, l.prompt_tokens, l.prompt_unit_price_micros, l.prompt_list_micros, l.prompt_discount_micros,
                 l.prompt_subsidy_micros, l.prompt_tenant_micros),
                ('completion'::text, l.completion_tokens, l.completion_unit_price_micros, l.completion_list_micros,
                 l.completion_discount_micros, l.completion_subsidy_micros, l.completion_tenant_micros))
                AS d(direction, tokens, unit_price_micros, list_micros, discount_micros, subsidy_micros, tenant_micros)
            WHERE l.currency IS NOT NULL AND d.unit_price_micros IS NOT NULL) AS c ON true
        """;

    /// <inheritdoc/>
    public async Task<LedgerPage> ReadAsync(string tenantId, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT {Columns}
            FROM (SELECT * FROM tokengrid_ledger WHERE tenant_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3) AS l {WithCharges}
            ORDER BY l.sequence, c.direction DESC
            """);
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
            $"SELECT {Columns} FROM tokengrid_ledger AS l {WithCharges} WHERE l.tenant_id = $1 AND l.job_id = $2 ORDER BY l.sequence, c.direction DESC");
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

    /// <summary>The <c>direction</c> column's value for <paramref name="direction"/>.</summary>
    public static string DirectionName(TokenDirection direction) => direction switch
    {
        TokenDirection.Prompt => "prompt",
        TokenDirection.Completion => "completion",
        _ => throw new ArgumentOutOfRangeException(nameof(direction), direction, "Unknown token direction."),
    };

    /// <summary>The direction a <c>direction</c> column's value names.</summary>
    public static TokenDirection ParseDirection(string name) => name switch
    {
        "prompt" => TokenDirection.Prompt,
        "completion" => TokenDirection.Completion,
        _ => throw new InvalidDataException($"Unknown token direction '{name}'."),
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
        List<PricedLine>? priced = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            var sequence = reader.GetInt64(0);
            if (entries.Count > 0 && entries[^1].Sequence == sequence)
            {
                // Another direction of the same priced charge.
                priced!.Add(ReadPricedLine(reader));
                continue;
            }

            Close(entries, priced);
            entries.Add(new LedgerEntry(
                sequence, reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), ParseKind(reader.GetString(5)), reader.GetInt64(6), reader.GetInt64(7),
                reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11), reader.GetInt64(12),
                reader.GetInt64(13), reader.GetInt64(14), reader.GetInt64(15), CachedPromptTokens: reader.GetInt64(30)));
            if (reader.IsDBNull(16))
            {
                priced = null;
                continue;
            }

            priced = [ReadPricedLine(reader)];
            entries[^1] = entries[^1] with
            {
                Priced = new PricedCharge(
                    reader.GetInt32(19), reader.GetString(18).Trim(), NullableString(reader, 25),
                    reader.IsDBNull(26) ? null : new CreationPlace(reader.GetString(26), NullableString(reader, 27) ?? "", NullableString(reader, 28)),
                    NullableString(reader, 29), []),
            };
        }

        Close(entries, priced);
        return entries;
    }

    /// <summary>Gives the last entry the priced lines read for it.</summary>
    private static void Close(List<LedgerEntry> entries, List<PricedLine>? priced)
    {
        if (priced is not null)
        {
            entries[^1] = entries[^1] with { Priced = entries[^1].Priced! with { Lines = priced } };
        }
    }

    private static PricedLine ReadPricedLine(NpgsqlDataReader reader) => new(
        ParseDirection(reader.GetString(16)), reader.GetInt64(17), new Money(reader.GetInt64(20)), new Money(reader.GetInt64(21)),
        new Money(reader.GetInt64(22)), new Money(reader.GetInt64(23)), new Money(reader.GetInt64(24)));

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
