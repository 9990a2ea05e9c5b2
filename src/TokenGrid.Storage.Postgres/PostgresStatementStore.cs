using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Billing.Statements;

namespace TokenGrid.Storage.Postgres;

/// <summary>
/// Statements in PostgreSQL (migration 0011, docs/billing.md): open ones read from the <c>tokengrid_statement_lines</c>
/// view over <c>tokengrid_charges</c>, closed ones from <c>tokengrid_statements</c>, which a period's close fills from
/// that view in the same statement that records the close.
/// </summary>
public sealed class PostgresStatementStore([FromKeyedServices(PostgresLedgerHosting.DataSourceKey)] NpgsqlDataSource dataSource) : IStatementStore
{
    private const string LineColumns =
        "model, direction, region, currency, unit_price_micros, tokens, list_micros, discount_micros, subsidy_micros, amount_due_micros, late_from";

    /// <summary>
    /// Records the close and copies the period's lines, once: a second close inserts nothing, and the first close's row
    /// is returned (from the insert when this statement made it, else from the table). The lines are
    /// <c>tokengrid_statement_lines</c>' for the period, every tenant's, computed from the month's range ($2, $3) as
    /// <see cref="ComputeAsync"/> computes one tenant's, rather than by formatting the month of every priced charge ever,
    /// and the late lines the period takes ($5 the month before). In the same statement, and so the same snapshot, it
    /// records each tenant's newest ledger sequence (<c>tokengrid_tenants</c>, written with the ledger's lines): exactly
    /// the lines the stored statements saw, so a priced charge dated in the month with a higher sequence is known to be
    /// late (migration 0019).
    /// </summary>
    internal static readonly string CloseSql = $"""
        WITH lines AS (
            {LinesSql(everyTenant: true)}
            UNION ALL
            {LateLinesSql(everyTenant: true, previous: "$5")}
        ), closed AS (
            INSERT INTO tokengrid_periods (period, closed_at, statements, watermarked)
            SELECT $1, $4, count(DISTINCT tenant_id), true FROM lines
            ON CONFLICT (period) DO NOTHING
            RETURNING closed_at, statements
        ), stored AS (
            INSERT INTO tokengrid_statements (tenant_id, period, {LineColumns})
            SELECT tenant_id, $1, {LineColumns} FROM lines
            WHERE EXISTS (SELECT FROM closed)
        ), held AS (
            INSERT INTO tokengrid_period_tenants (period, tenant_id, last_sequence)
            SELECT $1, tenant_id, last_sequence FROM tokengrid_tenants
            WHERE EXISTS (SELECT FROM closed)
        )
        SELECT closed_at, statements FROM closed
        UNION ALL
        SELECT closed_at, statements FROM tokengrid_periods WHERE period = $1
        """;

    /// <inheritdoc/>
    /// <remarks>
    /// The rows of <c>tokengrid_statement_lines</c> for the tenant and period, computed from the month's range of
    /// <c>tokengrid_charges</c> (the <c>(tenant_id, at)</c> index) rather than by formatting every row's month, as the
    /// view must; the tests check that both agree.
    /// </remarks>
    public Task<IReadOnlyList<StatementLine>> ComputeAsync(string tenantId, StatementPeriod period, CancellationToken cancellationToken = default) =>
        ReadLinesAsync(ComputeSql, tenantId, period, cancellationToken, range: true);

    internal static readonly string ComputeSql = $"""
        {LinesSql(everyTenant: false)}
        UNION ALL
        {LateLinesSql(everyTenant: false, previous: "$4")}
        """;

    /// <summary>
    /// The late lines of the period starting at $2 (docs/billing.md, "Late charges"; the rule is
    /// <see cref="StatementBuilder.IsLateIn"/>): priced charges of the ledger dated before it and stored after the close of
    /// every month from their own up to it. Nothing when the month before (<paramref name="previous"/>, as text) is not
    /// closed with a record of what it saw, a test PostgreSQL makes once; otherwise each tenant's lines since that close
    /// (the ledger's key, from the sequence it saw), and for each priced charge among them dated earlier, one look per
    /// month between at the closes. Only the ledger's own priced lines (migration 0015) can be late: the older tables
    /// stopped being written before any close recorded what it saw.
    /// </summary>
    private static string LateLinesSql(bool everyTenant, string previous)
    {
        var (tenant, tenantFilter) = everyTenant ? ("tenant_id, ", "") : ("", "AND t.tenant_id = $1");
        return $"""
            SELECT {tenant}model, direction, region, currency, unit_price_micros, sum(tokens)::bigint AS tokens,
                   sum(list_micros)::bigint AS list_micros, sum(discount_micros)::bigint AS discount_micros,
                   sum(subsidy_micros)::bigint AS subsidy_micros, sum(tenant_micros)::bigint AS amount_due_micros, late_from
            FROM (
                SELECT l.tenant_id, l.model, d.direction, l.region, l.currency, d.unit_price_micros, d.tokens, d.list_micros,
                       d.discount_micros, d.subsidy_micros, d.tenant_micros, to_char(l.at AT TIME ZONE 'UTC', 'YYYY-MM') AS late_from
                FROM tokengrid_tenants AS t
                LEFT JOIN tokengrid_period_tenants AS w ON w.period = {previous} AND w.tenant_id = t.tenant_id
                JOIN tokengrid_ledger AS l ON l.tenant_id = t.tenant_id AND l.sequence > coalesce(w.last_sequence, 0)
                CROSS JOIN LATERAL (VALUES
                    ('prompt'::text, l.prompt_unit_price_micros, l.prompt_tokens, l.prompt_list_micros, l.prompt_discount_micros,
                     l.prompt_subsidy_micros, l.prompt_tenant_micros),
                    ('completion'::text, l.completion_unit_price_micros, l.completion_tokens, l.completion_list_micros,
                     l.completion_discount_micros, l.completion_subsidy_micros, l.completion_tenant_micros))
                    AS d(direction, unit_price_micros, tokens, list_micros, discount_micros, subsidy_micros, tenant_micros)
                WHERE EXISTS (SELECT FROM tokengrid_periods WHERE period = {previous} AND watermarked) {tenantFilter}
                  AND l.kind = 'charge' AND l.currency IS NOT NULL AND d.unit_price_micros IS NOT NULL AND l.at < $2
                  AND NOT EXISTS (
                      SELECT FROM generate_series(date_trunc('month', l.at AT TIME ZONE 'UTC'), ($2 AT TIME ZONE 'UTC') - interval '1 month',
                                                  interval '1 month') AS m(month)
                      LEFT JOIN tokengrid_periods AS p ON p.period = to_char(m.month, 'YYYY-MM')
                      LEFT JOIN tokengrid_period_tenants AS h ON h.period = p.period AND h.tenant_id = l.tenant_id
                      WHERE p.period IS NULL OR NOT p.watermarked OR l.sequence <= coalesce(h.last_sequence, 0))) AS late
            GROUP BY {tenant}model, direction, region, currency, unit_price_micros, late_from
            """;
    }

    /// <summary>
    /// The statement lines of a range of time ($2 to $3, exclusive): one tenant's ($1), or every tenant's with its id
    /// first. Charges since migration 0014 are one row each with both directions (the <c>tokengrid_charge_lines</c>
    /// view: the rows migration 0014's table holds, then the priced lines of the ledger since migration 0015, each read
    /// through its own index by time): they are summed per model, region, currency and the two unit prices first, and
    /// only those few groups are split into directions, rather than every row going through the
    /// <c>tokengrid_charges</c> view's split. Rows written before migration 0014 (one per direction) are added as they are.
    /// </summary>
    private static string LinesSql(bool everyTenant)
    {
        var (tenant, where) = everyTenant ? ("tenant_id, ", "at >= $2 AND at < $3") : ("", "tenant_id = $1 AND at >= $2 AND at < $3");
        return $"""
            SELECT {tenant}model, direction, region, currency, unit_price_micros, sum(tokens)::bigint AS tokens,
                   sum(list_micros)::bigint AS list_micros, sum(discount_micros)::bigint AS discount_micros,
                   sum(subsidy_micros)::bigint AS subsidy_micros, sum(tenant_micros)::bigint AS amount_due_micros, NULL::text AS late_from
            FROM (
                SELECT {tenant}model, direction, region, currency, unit_price_micros, tokens, list_micros, discount_micros,
                       subsidy_micros, tenant_micros
                FROM tokengrid_charges_by_direction
                WHERE {where}
                UNION ALL
                SELECT {(everyTenant ? "g.tenant_id, " : "")}g.model, d.direction, g.region, g.currency, d.unit_price_micros, d.tokens,
                       d.list_micros, d.discount_micros, d.subsidy_micros, d.tenant_micros
                FROM (
                    SELECT {tenant}model, region, currency, prompt_unit_price_micros, completion_unit_price_micros,
                           sum(prompt_tokens) AS pt, sum(prompt_list_micros) AS pl, sum(prompt_discount_micros) AS pd,
                           sum(prompt_subsidy_micros) AS ps, sum(prompt_tenant_micros) AS pte,
                           sum(completion_tokens) AS ct, sum(completion_list_micros) AS cl, sum(completion_discount_micros) AS cd,
                           sum(completion_subsidy_micros) AS cs, sum(completion_tenant_micros) AS cte
                    FROM tokengrid_charge_lines
                    WHERE {where}
                    GROUP BY {tenant}model, region, currency, prompt_unit_price_micros, completion_unit_price_micros) AS g
                CROSS JOIN LATERAL (VALUES
                    ('prompt'::text, g.prompt_unit_price_micros, g.pt, g.pl, g.pd, g.ps, g.pte),
                    ('completion'::text, g.completion_unit_price_micros, g.ct, g.cl, g.cd, g.cs, g.cte))
                    AS d(direction, unit_price_micros, tokens, list_micros, discount_micros, subsidy_micros, tenant_micros)
                WHERE d.tokens IS NOT NULL) AS rows
            GROUP BY {tenant}model, direction, region, currency, unit_price_micros
            """;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StatementLine>> ReadClosedAsync(string tenantId, StatementPeriod period, CancellationToken cancellationToken = default) =>
        ReadLinesAsync($"SELECT {LineColumns} FROM tokengrid_statements WHERE tenant_id = $1 AND period = $2", tenantId, period, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>
    /// The months of <c>tokengrid_charges</c>' rows for the tenant, found one after another: the first priced charge at
    /// or after the start of the month after the last one found, through each source's <c>(tenant_id, at)</c> index. A
    /// few index probes per statement, however many charges each month holds.
    /// </remarks>
    public async Task<IReadOnlyList<StatementPeriod>> PeriodsWithChargesAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(PeriodsSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var periods = new List<StatementPeriod>();
        while (await reader.ReadAsync(cancellationToken))
        {
            periods.Add(Period(reader.GetString(0)));
        }

        return [.. periods.OrderBy(p => p.Start)];
    }

    /// <summary>$1 the tenant. Each step finds the next month with a charge, from the start of the month after the last.</summary>
    internal static readonly string PeriodsSql = $"""
        WITH RECURSIVE months(month) AS (
            SELECT date_trunc('month', {FirstChargeFrom("'-infinity'::timestamptz")} AT TIME ZONE 'UTC')
            UNION ALL
            SELECT date_trunc('month', {FirstChargeFrom("(month + interval '1 month') AT TIME ZONE 'UTC'")} AT TIME ZONE 'UTC')
            FROM months
            WHERE month IS NOT NULL
        )
        SELECT to_char(month, 'YYYY-MM') FROM months WHERE month IS NOT NULL
        """;

    /// <summary>
    /// The time of the tenant's ($1) first row of <c>tokengrid_charges</c> at or after <paramref name="from"/>, or NULL:
    /// the earliest in its three sources, counting only what that view reads of them (a row of migration 0014's table or
    /// a priced ledger line only with a priced direction).
    /// </summary>
    private static string FirstChargeFrom(string from) => $"""
        least(
            (SELECT min(at) FROM tokengrid_charges_by_direction WHERE tenant_id = $1 AND at >= {from}),
            (SELECT min(at) FROM tokengrid_charge_lines_separate
             WHERE tenant_id = $1 AND at >= {from} AND (prompt_tokens IS NOT NULL OR completion_tokens IS NOT NULL)),
            (SELECT min(at) FROM tokengrid_ledger
             WHERE tenant_id = $1 AND currency IS NOT NULL AND at >= {from}
               AND (prompt_unit_price_micros IS NOT NULL OR completion_unit_price_micros IS NOT NULL)))
        """;

    /// <inheritdoc/>
    public async Task<IReadOnlyList<PeriodClose>> ClosedAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT period, closed_at, statements FROM tokengrid_periods ORDER BY period");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var closed = new List<PeriodClose>();
        while (await reader.ReadAsync(cancellationToken))
        {
            closed.Add(new PeriodClose(Period(reader.GetString(0)), reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt32(2)));
        }

        return closed;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The closing silo's clock said the month ended <see cref="StatementBook.CloseGrace"/> ago; the database's clock,
    /// the one every silo shares, must say so too. A silo whose clock runs ahead (by an hour, it closed a month at 23:05)
    /// would otherwise store the month's statements while the other silos still date charges in it, and no statement
    /// would ever hold those: the next month's selects by date.
    /// </remarks>
    public async Task<PeriodClose> CloseAsync(StatementPeriod period, DateTimeOffset closedAt, CancellationToken cancellationToken = default)
    {
        await using (var clock = dataSource.CreateCommand("SELECT clock_timestamp()"))
        {
            var now = new DateTimeOffset((DateTime)(await clock.ExecuteScalarAsync(cancellationToken))!, TimeSpan.Zero);
            var from = period.End + StatementBook.CloseGrace;
            if (now < from)
            {
                return (await ClosedAsync(cancellationToken)).FirstOrDefault(c => c.Period == period)
                    ?? throw new PeriodNotEndedException(period, from - now);
            }
        }

        // A close racing this one may commit after this statement's snapshot: then neither part sees its row, and a
        // second statement (a new snapshot) does.
        for (var attempt = 0; ; attempt++)
        {
            await using var command = dataSource.CreateCommand(CloseSql);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = period.ToString() });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = period.Start });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = period.End });
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = closedAt.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Previous(period).ToString() });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return new PeriodClose(period, reader.GetFieldValue<DateTimeOffset>(0), (int)reader.GetInt64(1));
            }

            if (attempt > 0)
            {
                throw new InvalidOperationException($"Period {period} was neither closed nor found closed.");
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The rows of <c>tokengrid_usage_money_daily</c> for the tenant and days, read from the days' charge lines
    /// (migration 0018's <c>(tenant_id, at)</c> index) rather than through that view, whose day filter cannot select
    /// them, and which looks up every line's price apart. A line priced in its own row (migration 0015) is split as the
    /// <c>tokengrid_charges</c> view splits it; the rows of the two tables that held prices before are read by their own
    /// <c>(tenant_id, at)</c> indexes for the same days and joined to their lines by sequence. Their writers copied each
    /// row's time from its line in the statement that inserted both, so a line's rows are in its days.
    /// </remarks>
    public async Task<IReadOnlyList<DailyUsage>> DailyAsync(string tenantId, DateOnly from, DateOnly through, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(DailySql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = from });
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = through });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var days = new List<DailyUsage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            days.Add(new DailyUsage(
                reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2).Trim(),
                reader.GetInt64(3), reader.GetInt64(4), new Money(reader.GetInt64(5)), new Money(reader.GetInt64(6)),
                new Money(reader.GetInt64(7)), new Money(reader.GetInt64(8))));
        }

        return StatementBuilder.Order(days);
    }

    /// <summary>
    /// $1 the tenant, $2 the first day, $3 the last (UTC dates, so midnight UTC whatever the session's time zone). A
    /// line's currency is the least of its charge rows', as the view's <c>min</c>; its money is theirs added up.
    /// </summary>
    internal const string DailySql = """
        WITH days AS (
            SELECT $2::date::timestamp AT TIME ZONE 'UTC' AS start, ($3::date + 1)::timestamp AT TIME ZONE 'UTC' AS "end"
        ), old AS (
            SELECT sequence, min(currency) AS currency, sum(list_micros) AS list_micros, sum(discount_micros) AS discount_micros,
                   sum(subsidy_micros) AS subsidy_micros, sum(tenant_micros) AS tenant_micros
            FROM (
                SELECT c.sequence, c.currency, c.list_micros, c.discount_micros, c.subsidy_micros, c.tenant_micros
                FROM tokengrid_charges_by_direction AS c, days
                WHERE c.tenant_id = $1 AND c.at >= days.start AND c.at < days."end"
                UNION ALL
                SELECT s.sequence, s.currency, d.list_micros, d.discount_micros, d.subsidy_micros, d.tenant_micros
                FROM tokengrid_charge_lines_separate AS s
                CROSS JOIN days
                CROSS JOIN LATERAL (VALUES
                    (s.prompt_tokens, s.prompt_list_micros, s.prompt_discount_micros, s.prompt_subsidy_micros, s.prompt_tenant_micros),
                    (s.completion_tokens, s.completion_list_micros, s.completion_discount_micros, s.completion_subsidy_micros,
                     s.completion_tenant_micros))
                    AS d(tokens, list_micros, discount_micros, subsidy_micros, tenant_micros)
                WHERE s.tenant_id = $1 AND s.at >= days.start AND s.at < days."end" AND d.tokens IS NOT NULL) AS rows
            GROUP BY sequence
        ), lines AS (
            SELECT (l.at AT TIME ZONE 'UTC')::date AS day, l.model, l.prompt_tokens, l.completion_tokens,
                   least(CASE WHEN p.priced THEN l.currency END, old.currency) AS currency,
                   CASE WHEN p.prompt THEN coalesce(l.prompt_list_micros, 0) ELSE 0 END
                   + CASE WHEN p.completion THEN coalesce(l.completion_list_micros, 0) ELSE 0 END + coalesce(old.list_micros, 0) AS list_micros,
                   CASE WHEN p.prompt THEN coalesce(l.prompt_discount_micros, 0) ELSE 0 END
                   + CASE WHEN p.completion THEN coalesce(l.completion_discount_micros, 0) ELSE 0 END + coalesce(old.discount_micros, 0) AS discount_micros,
                   CASE WHEN p.prompt THEN coalesce(l.prompt_subsidy_micros, 0) ELSE 0 END
                   + CASE WHEN p.completion THEN coalesce(l.completion_subsidy_micros, 0) ELSE 0 END + coalesce(old.subsidy_micros, 0) AS subsidy_micros,
                   CASE WHEN p.prompt THEN coalesce(l.prompt_tenant_micros, 0) ELSE 0 END
                   + CASE WHEN p.completion THEN coalesce(l.completion_tenant_micros, 0) ELSE 0 END + coalesce(old.tenant_micros, 0) AS tenant_micros
            FROM tokengrid_ledger AS l
            CROSS JOIN days
            CROSS JOIN LATERAL (
                SELECT l.currency IS NOT NULL AND l.prompt_unit_price_micros IS NOT NULL AS prompt,
                       l.currency IS NOT NULL AND l.completion_unit_price_micros IS NOT NULL AS completion,
                       l.currency IS NOT NULL AND (l.prompt_unit_price_micros IS NOT NULL OR l.completion_unit_price_micros IS NOT NULL) AS priced) AS p
            LEFT JOIN old ON old.sequence = l.sequence
            WHERE l.tenant_id = $1 AND l.kind = 'charge' AND l.at >= days.start AND l.at < days."end"
        )
        SELECT day, model, currency, sum(prompt_tokens)::bigint AS prompt_tokens, sum(completion_tokens)::bigint AS completion_tokens,
               sum(list_micros)::bigint AS list_micros, sum(discount_micros)::bigint AS discount_micros,
               sum(subsidy_micros)::bigint AS subsidy_micros, sum(tenant_micros)::bigint AS amount_due_micros
        FROM lines
        GROUP BY day, model, currency
        """;

    /// <inheritdoc/>
    /// <remarks>The rows of <c>tokengrid_flows_daily</c> for the month, from the month's range of <c>tokengrid_charges</c>.</remarks>
    public async Task<IReadOnlyList<FlowRow>> FlowsAsync(StatementPeriod period, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT (at AT TIME ZONE 'UTC')::date, home_region, region, model, currency, count(DISTINCT tenant_id),
                   coalesce(sum(tokens) FILTER (WHERE direction = 'prompt'), 0)::bigint,
                   coalesce(sum(tokens) FILTER (WHERE direction = 'completion'), 0)::bigint,
                   sum(list_micros)::bigint, sum(discount_micros)::bigint, sum(subsidy_micros)::bigint, sum(tenant_micros)::bigint
            FROM tokengrid_charges
            WHERE at >= $1 AND at < $2
            GROUP BY (at AT TIME ZONE 'UTC')::date, home_region, region, model, currency
            """);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = period.Start });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = period.End });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<FlowRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new FlowRow(
                reader.GetFieldValue<DateOnly>(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3), reader.GetString(4).Trim(), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7),
                new Money(reader.GetInt64(8)), new Money(reader.GetInt64(9)), new Money(reader.GetInt64(10)), new Money(reader.GetInt64(11))));
        }

        return Flows.Order(rows);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One read of the month's priced charges of every tenant (the <c>at</c> indexes of each source, as
    /// <see cref="FlowsAsync"/> reads them), summed per tenant; the tenants are counted before the limit.
    /// </remarks>
    public async Task<TopSpenders> TopSpendersAsync(StatementPeriod period, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(TopSpendersSql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = period.Start });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = period.End });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var top = new List<TenantSpend>();
        var tenants = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            top.Add(new TenantSpend(reader.GetString(0), new Money(reader.GetInt64(1))));
            tenants = (int)reader.GetInt64(2);
        }

        return new TopSpenders(top, tenants);
    }

    /// <summary>$1 and $2 the month's range, $3 the limit.</summary>
    internal const string TopSpendersSql = """
        SELECT tenant_id, sum(tenant_micros)::bigint AS amount_due, count(*) OVER () AS tenants
        FROM tokengrid_charges
        WHERE at >= $1 AND at < $2
        GROUP BY tenant_id
        ORDER BY amount_due DESC, tenant_id COLLATE "C"
        LIMIT $3
        """;

    /// <summary>The lines <paramref name="sql"/> selects: $1 is the tenant, then the period ($2) or its range ($2, $3).</summary>
    private async Task<IReadOnlyList<StatementLine>> ReadLinesAsync(
        string sql, string tenantId, StatementPeriod period, CancellationToken cancellationToken, bool range = false)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        if (range)
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = period.Start });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = period.End });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Previous(period).ToString() });
        }
        else
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = period.ToString() });
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var lines = new List<StatementLine>();
        while (await reader.ReadAsync(cancellationToken))
        {
            lines.Add(new StatementLine(
                reader.GetString(0), PostgresLedgerStore.ParseDirection(reader.GetString(1)), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3).Trim(), new Money(reader.GetInt64(4)), reader.GetInt64(5), new Money(reader.GetInt64(6)),
                new Money(reader.GetInt64(7)), new Money(reader.GetInt64(8)), new Money(reader.GetInt64(9)),
                reader.IsDBNull(10) ? null : Period(reader.GetString(10))));
        }

        // One order for every store: the builder's (ordinal), not the database's collation.
        return StatementBuilder.Order(lines);
    }

    /// <summary>The month before <paramref name="period"/> (itself for the first month there is, which has none before).</summary>
    private static StatementPeriod Previous(StatementPeriod period) =>
        period.Year == 1 && period.Month == 1 ? period : StatementPeriod.Of(period.Start.AddMonths(-1));

    private static StatementPeriod Period(string text) =>
        StatementPeriod.TryParse(text, out var period) ? period : throw new InvalidDataException($"'{text}' is not a period.");
}
