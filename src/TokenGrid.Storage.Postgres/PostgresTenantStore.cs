using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;
using Orleans.Serialization;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Storage.Postgres;

/// <summary>
/// Tenant state in <c>tokengrid_tenants</c> (migration 0005) beside its lines in <c>tokengrid_ledger</c> and its job ids
/// in <c>tokengrid_tenant_jobs</c>. A save is one statement, so one round trip and one commit per batch of changes: the
/// versioned update of the state row, the ledger lines (a priced charge's price in its line's row, migration 0015) and
/// the job ids, all or nothing.
/// </summary>
/// <remarks>
/// <para>
/// The state is written with Orleans' serializer, which honours the contracts' <c>[Id]</c>s, so fields can be added
/// without a migration. The row also carries charged, reserved and the newest line's sequence as plain columns for
/// operators. The snapshot holds the open reservations, so its size grows with the jobs a tenant runs at once (about
/// 50 bytes each); keeping them as rows of their own instead was measured slower at the concurrency tested (an insert
/// and a delete per job cost more than the bytes they save; see docs/benchmarks.md).
/// </para>
/// <para>
/// Its awaits do not return to the calling grain's scheduler (<c>ConfigureAwait(false)</c>): the grain resumes once,
/// when the save is done, rather than after every step of the round trip.
/// </para>
/// </remarks>
public sealed class PostgresTenantStore(
    [FromKeyedServices(PostgresLedgerHosting.DataSourceKey)] NpgsqlDataSource dataSource,
    Serializer serializer) : ITenantStore
{
    /// <summary>
    /// Refuses when a reserve line of the batch names a job id the ledger already reserved for (then nothing is written
    /// and those ids come back); otherwise creates the row (expected version 0) or updates it at the expected version,
    /// and only when that row was written inserts the lines and job ids. No row in <c>saved</c> and no refused job
    /// id means the version did not match. The refusal check looks each job id up in the one-reserve-per-job index:
    /// written as a lateral join, the plan probes the index per id whatever the table's statistics say (the prepared
    /// statement's plan may be made while the ledger is still empty, when <c>job_id = ANY(…)</c> plans as a filter over
    /// all of the tenant's reservations).
    /// </summary>
    private const string SaveSql = $"""
        WITH refused AS (
            SELECT r.job_id FROM unnest($7::text[]) AS r(job_id)
            CROSS JOIN LATERAL (
                SELECT FROM tokengrid_ledger
                WHERE tenant_id = $1 AND kind = 'reserve' AND job_id = r.job_id
                LIMIT 1) AS found
        ), created AS (
            INSERT INTO tokengrid_tenants (tenant_id, version, last_sequence, charged, reserved, snapshot)
            SELECT $1, 1, $3, $4, $5, $6
            WHERE $2 = 0 AND NOT EXISTS (SELECT FROM refused)
            ON CONFLICT (tenant_id) DO NOTHING
            RETURNING version
        ), updated AS (
            UPDATE tokengrid_tenants
            SET version = version + 1, last_sequence = $3, charged = $4, reserved = $5, snapshot = $6, saved_at = now()
            WHERE tenant_id = $1 AND version = $2 AND $2 <> 0 AND NOT EXISTS (SELECT FROM refused)
            RETURNING version
        ), saved AS (
            SELECT version FROM created UNION ALL SELECT version FROM updated
        ), lines AS (
            INSERT INTO tokengrid_ledger (sequence, at, tenant_id, job_id, model, kind, tokens, quota, charged_after, reserved_after, balance_after,
                                          prompt_tokens, completion_tokens, spend_micros, spend_charged_after, spend_reserved_after,
                                          cached_prompt_tokens, currency, price_version, program_id, node_id, silo, region, home_region,
                                          prompt_unit_price_micros, prompt_list_micros, prompt_discount_micros, prompt_subsidy_micros,
                                          prompt_tenant_micros, completion_unit_price_micros, completion_list_micros,
                                          completion_discount_micros, completion_subsidy_micros, completion_tenant_micros)
            SELECT s, a, $1, j, m, k, t, q, c, r, b, pt, ct, sm, sc, sr, cp, cur, v, p, n, si, rg, h, pu, pl, pd, ps, pte, cu, cl, cd, cs, cte
            FROM unnest($8::bigint[], $9::timestamptz[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bigint[],
                        $15::bigint[], $16::bigint[], $17::bigint[], $19::bigint[], $20::bigint[], $21::bigint[], $22::bigint[],
                        $23::bigint[], $24::bigint[], $25::text[], $26::integer[], $27::text[], $28::text[], $29::text[], $30::text[],
                        $31::text[], $32::bigint[], $33::bigint[], $34::bigint[], $35::bigint[], $36::bigint[], $37::bigint[],
                        $38::bigint[], $39::bigint[], $40::bigint[], $41::bigint[])
                 AS line(s, a, j, m, k, t, q, c, r, b, pt, ct, sm, sc, sr, cp, cur, v, p, n, si, rg, h, pu, pl, pd, ps, pte, cu, cl, cd, cs, cte)
            WHERE EXISTS (SELECT FROM saved)
        ), jobs AS (
            INSERT INTO tokengrid_tenant_jobs (tenant_id, job_id)
            SELECT $1, j FROM unnest($18::text[]) WITH ORDINALITY AS added(j, n)
            WHERE EXISTS (SELECT FROM saved)
            ORDER BY n
            ON CONFLICT (tenant_id, job_id) DO NOTHING
        )
        SELECT (SELECT version FROM saved), ARRAY(SELECT job_id FROM refused)
        """;

    /// <inheritdoc/>
    public async Task<StoredTenant?> LoadAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        var command = dataSource.CreateCommand("SELECT snapshot, version FROM tokengrid_tenants WHERE tenant_id = $1");
        await using var disposeCommand = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        try
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var disposeReader = reader.ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var state = serializer.Deserialize<TenantState>(reader.GetFieldValue<byte[]>(0))
                ?? throw new InvalidDataException($"Tenant '{tenantId}' has an empty snapshot.");
            return new StoredTenant(state, reader.GetInt64(1));
        }
        catch (Exception e)
        {
            PostgresConnections.ForgetBroken(e, dataSource);
            throw;
        }
    }

    /// <inheritdoc/>
    /// <remarks>One scan of the table's narrow columns (about 100 KB for 5,000 tenants); no snapshot is read.</remarks>
    public async Task<IReadOnlyDictionary<string, long>> VersionsAsync(CancellationToken cancellationToken = default)
    {
        var command = dataSource.CreateCommand("SELECT tenant_id, version FROM tokengrid_tenants");
        await using var disposeCommand = command.ConfigureAwait(false);
        try
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var disposeReader = reader.ConfigureAwait(false);
            var versions = new Dictionary<string, long>(StringComparer.Ordinal);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                versions[reader.GetString(0)] = reader.GetInt64(1);
            }

            return versions;
        }
        catch (Exception e)
        {
            PostgresConnections.ForgetBroken(e, dataSource);
            throw;
        }
    }

    /// <inheritdoc/>
    public async Task<TenantSaveResult> SaveAsync(TenantSave save, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(save);

        // Everything is read from the state before the first await: the caller may change it once this returns a task.
        var state = save.State;
        var lines = save.Lines;
        var command = dataSource.CreateCommand(SaveSql);
        await using var disposeCommand = command.ConfigureAwait(false);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<string> { TypedValue = save.TenantId });
        p.Add(new NpgsqlParameter<long> { TypedValue = save.ExpectedVersion });
        p.Add(new NpgsqlParameter<long> { TypedValue = state.LastSequence });
        p.Add(new NpgsqlParameter<long> { TypedValue = state.Charged });
        p.Add(new NpgsqlParameter<long> { TypedValue = state.Reserved });
        p.Add(new NpgsqlParameter<byte[]> { TypedValue = serializer.SerializeToArray(state) });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = [.. lines.Where(l => l.Kind == LedgerEntryKind.Reserve).Select(l => l.JobId)] });
        p.Add(Column(lines, e => e.Sequence, NpgsqlDbType.Bigint));
        p.Add(Column(lines, e => e.At.UtcDateTime, NpgsqlDbType.TimestampTz));
        p.Add(Column(lines, e => e.JobId, NpgsqlDbType.Text));
        p.Add(Column(lines, e => e.Model, NpgsqlDbType.Text));
        p.Add(Column(lines, e => PostgresLedgerStore.KindName(e.Kind), NpgsqlDbType.Text));
        p.Add(Column(lines, e => e.Tokens, NpgsqlDbType.Bigint));
        p.Add(Column(lines, e => e.Quota, NpgsqlDbType.Bigint));
        p.Add(Column(lines, e => e.ChargedAfter, NpgsqlDbType.Bigint));
        p.Add(Column(lines, e => e.ReservedAfter, NpgsqlDbType.Bigint));
        p.Add(Column(lines, e => e.BalanceAfter, NpgsqlDbType.Bigint));
        p.Add(new NpgsqlParameter<string[]> { TypedValue = [.. save.JobIds] });
        p.Add(Column(lines, e => e.PromptTokens, NpgsqlDbType.Bigint));
        p.Add(Column(lines, e => e.CompletionTokens, NpgsqlDbType.Bigint));
        p.Add(Column(lines, e => e.SpendMicros, NpgsqlDbType.Bigint));
        p.Add(Column(lines, e => e.SpendChargedAfter, NpgsqlDbType.Bigint));
        p.Add(Column(lines, e => e.SpendReservedAfter, NpgsqlDbType.Bigint));
        p.Add(Column(lines, e => e.CachedPromptTokens, NpgsqlDbType.Bigint));
        AddPrices(p, lines);
        try
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var disposeReader = reader.ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var refused = reader.GetFieldValue<string[]>(1);
            if (refused.Length > 0)
            {
                return new TenantSaveResult(save.ExpectedVersion, refused);
            }

            if (await reader.IsDBNullAsync(0, cancellationToken).ConfigureAwait(false))
            {
                throw save.Stale();
            }

            return new TenantSaveResult(reader.GetInt64(0), []);
        }
        catch (Exception e)
        {
            PostgresConnections.ForgetBroken(e, dataSource);
            throw;
        }
    }

    /// <summary>
    /// The price of each of <paramref name="lines"/> that is a priced charge, in the line's own row (migration 0015;
    /// NULL for every other line, and for a direction the charge lacks), as the parameters $25–$41.
    /// </summary>
    private static void AddPrices(NpgsqlParameterCollection p, IReadOnlyList<LedgerEntry> lines)
    {
        p.Add(Column(lines, e => e.Priced?.Currency, NpgsqlDbType.Text));
        p.Add(Column(lines, e => e.Priced?.PriceVersion, NpgsqlDbType.Integer));
        p.Add(Column(lines, e => e.Priced?.ProgramId, NpgsqlDbType.Text));
        p.Add(Column(lines, e => e.Priced?.Place?.NodeId, NpgsqlDbType.Text));
        p.Add(Column(lines, e => e.Priced?.Place?.Silo, NpgsqlDbType.Text));
        p.Add(Column(lines, e => e.Priced?.Place?.Region, NpgsqlDbType.Text));
        p.Add(Column(lines, e => e.Priced?.HomeRegion, NpgsqlDbType.Text));
        foreach (var direction in (ReadOnlySpan<TokenDirection>)[TokenDirection.Prompt, TokenDirection.Completion])
        {
            var sides = new PricedLine?[lines.Count];
            for (var i = 0; i < sides.Length; i++)
            {
                sides[i] = lines[i].Priced is { } charge ? Side(lines[i], charge, direction) : null;
            }

            p.Add(Array(sides, l => l?.UnitPrice.Micros, NpgsqlDbType.Bigint));
            p.Add(Array(sides, l => l?.List.Micros, NpgsqlDbType.Bigint));
            p.Add(Array(sides, l => l?.Discount.Micros, NpgsqlDbType.Bigint));
            p.Add(Array(sides, l => l?.Subsidy.Micros, NpgsqlDbType.Bigint));
            p.Add(Array(sides, l => l?.Tenant.Micros, NpgsqlDbType.Bigint));
        }
    }

    /// <summary>
    /// The charge's line for <paramref name="direction"/>, or null when it has none. Its tokens are the ledger line's own
    /// for that direction (the row keeps them once), so a charge that prices other tokens is refused.
    /// </summary>
    private static PricedLine? Side(LedgerEntry entry, PricedCharge charge, TokenDirection direction)
    {
        // By index: an interface's enumerator is an allocation per charge on the save path.
        PricedLine? found = null;
        var lines = charge.Lines;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.Direction == direction)
            {
                found = found is null ? line : throw new ArgumentException($"A priced charge prices {direction} twice.", nameof(charge));
            }
        }

        var tokens = direction == TokenDirection.Prompt ? entry.PromptTokens : entry.CompletionTokens;
        if (found is not null && found.Tokens != tokens)
        {
            throw new ArgumentException(
                $"Ledger line {entry.Sequence} prices {found.Tokens} {direction} tokens but records {tokens}.", nameof(entry));
        }

        return found;
    }

    private static NpgsqlParameter Array<T>(PricedLine?[] sides, Func<PricedLine?, T> select, NpgsqlDbType type) =>
        new() { Value = System.Array.ConvertAll(sides, l => select(l)), NpgsqlDbType = NpgsqlDbType.Array | type };

    private static NpgsqlParameter Column<T>(IReadOnlyList<LedgerEntry> entries, Func<LedgerEntry, T> select, NpgsqlDbType type) =>
        new() { Value = entries.Select(select).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | type };
}
