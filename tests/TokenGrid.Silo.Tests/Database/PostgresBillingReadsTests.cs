using System.Text.Json;
using Npgsql;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Tests.Billing;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// The billing reads on PostgreSQL (<c>GET /v1/usage</c>'s days, the statements list's periods, a period's close) give
/// what the SQL views give, to the micro, on a ledger with every kind of charge row, and read only the window they are
/// asked for, however long the ledger's history.
/// </summary>
public sealed class PostgresBillingReadsTests : IAsyncLifetime
{
    /// <summary>
    /// Three tenants' jobs (reserve, charge, refund) every 23 minutes from 2026-06-20 to 2026-10-25: tc's unpriced, a
    /// quarter of the others' too. Priced charges before 2026-07-15 are rows of migration 0009's table (one per
    /// direction), until 2026-08-10 rows of migration 0014's, then the ledger rows' own prices (0015). Three models,
    /// a subsidy on every 7th job, a prompt-only price on every 11th; charges on each side of midnight at the turn of
    /// July and August, and a priced line with neither direction priced.
    /// </summary>
    private const string SeedSql = """
        CREATE TEMP TABLE jobs AS
        SELECT g, tenant_id, at, row_number() OVER (PARTITION BY tenant_id ORDER BY g) AS k,
               (ARRAY['demo', 'm2', 'm3'])[(g / 3) % 3 + 1] AS model, tenant_id <> 'tc' AND g % 4 <> 0 AS priced,
               g % 7 = 0 AS subsidised, g % 11 <> 0 AS completion, 20 + g % 13 AS pl, g % 3 AS pd, 40 + g % 17 AS cl, g % 2 AS cd,
               CASE WHEN at < '2026-07-15' THEN 'by_direction' WHEN at < '2026-08-10' THEN 'separate' ELSE 'ledger' END AS era
        FROM (SELECT g, (ARRAY['ta', 'tb', 'tc'])[g % 3 + 1] AS tenant_id,
                     CASE g WHEN 1 THEN timestamptz '2026-07-31 23:59:59.999999+00' WHEN 2 THEN timestamptz '2026-08-01 00:00:00+00'
                            WHEN 4 THEN timestamptz '2026-06-30 23:59:59.999999+00' WHEN 5 THEN timestamptz '2026-07-01 00:00:00+00'
                            ELSE timestamptz '2026-06-20 00:00:00+00' + g * interval '23 minutes' END AS at
              FROM generate_series(1, 8000) AS g) AS j;
        INSERT INTO tokengrid_ledger (tenant_id, sequence, at, job_id, model, kind, tokens, quota, charged_after, reserved_after,
            balance_after, prompt_tokens, completion_tokens, currency, price_version, program_id, prompt_unit_price_micros,
            prompt_list_micros, prompt_discount_micros, prompt_subsidy_micros, prompt_tenant_micros, completion_unit_price_micros,
            completion_list_micros, completion_discount_micros, completion_subsidy_micros, completion_tenant_micros)
        SELECT tenant_id, 3 * k - 2, at, 'job-' || g, model, 'reserve', 100, 1000000, 0, 100, 999900, 0, 0,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM jobs
        UNION ALL
        SELECT tenant_id, 3 * k - 1, at, 'job-' || g, model, 'charge', 60, 1000000, 60, 40, 999900, 20, 40,
               CASE WHEN p THEN 'USD' END, CASE WHEN p THEN 1 + g % 2 END, CASE WHEN p AND subsidised THEN 'p' END,
               CASE WHEN p THEN 1000000 END, CASE WHEN p THEN pl END, CASE WHEN p THEN pd END,
               CASE WHEN p THEN CASE WHEN subsidised THEN (pl - pd) / 2 ELSE 0 END END,
               CASE WHEN p THEN pl - pd - CASE WHEN subsidised THEN (pl - pd) / 2 ELSE 0 END END,
               CASE WHEN p AND completion THEN 3000000 END, CASE WHEN p AND completion THEN cl END,
               CASE WHEN p AND completion THEN cd END, CASE WHEN p AND completion THEN CASE WHEN subsidised THEN (cl - cd) / 2 ELSE 0 END END,
               CASE WHEN p AND completion THEN cl - cd - CASE WHEN subsidised THEN (cl - cd) / 2 ELSE 0 END END
        FROM (SELECT *, priced AND era = 'ledger' AS p FROM jobs) AS j
        UNION ALL
        SELECT tenant_id, 3 * k, at + interval '1 second', 'job-' || g, model, 'refund', 40, 1000000, 60, 0, 999940, 0, 0,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM jobs;

        INSERT INTO tokengrid_charges_by_direction (tenant_id, sequence, direction, at, job_id, model, tokens, currency, price_version,
            unit_price_micros, list_micros, discount_micros, subsidy_micros, tenant_micros, program_id, region, home_region)
        SELECT tenant_id, 3 * k - 1, d.direction, at, 'job-' || g, model, d.tokens, 'USD', 1, d.unit, d.list, d.discount, d.subsidy,
               d.list - d.discount - d.subsidy, CASE WHEN subsidised THEN 'p' END, 'north', 'west'
        FROM jobs
        CROSS JOIN LATERAL (VALUES
            ('prompt', 20, 1000000, pl, pd, CASE WHEN subsidised THEN (pl - pd) / 2 ELSE 0 END),
            ('completion', 40, 3000000, cl, cd, CASE WHEN subsidised THEN (cl - cd) / 2 ELSE 0 END))
            AS d(direction, tokens, unit, list, discount, subsidy)
        WHERE priced AND era = 'by_direction' AND (d.direction = 'prompt' OR completion);

        INSERT INTO tokengrid_charge_lines_separate (tenant_id, sequence, at, job_id, model, currency, price_version, program_id, region,
            home_region, prompt_tokens, prompt_unit_price_micros, prompt_list_micros, prompt_discount_micros, prompt_subsidy_micros,
            prompt_tenant_micros, completion_tokens, completion_unit_price_micros, completion_list_micros, completion_discount_micros,
            completion_subsidy_micros, completion_tenant_micros)
        SELECT tenant_id, 3 * k - 1, at, 'job-' || g, model, 'EUR', 1, CASE WHEN subsidised THEN 'p' END, 'south', 'west',
               20, 1000000, pl, pd, ps, pl - pd - ps, CASE WHEN completion THEN 40 END, CASE WHEN completion THEN 3000000 END,
               CASE WHEN completion THEN cl END, CASE WHEN completion THEN cd END, CASE WHEN completion THEN cs END,
               CASE WHEN completion THEN cl - cd - cs END
        FROM (SELECT *, CASE WHEN subsidised THEN (pl - pd) / 2 ELSE 0 END AS ps, CASE WHEN subsidised THEN (cl - cd) / 2 ELSE 0 END AS cs
              FROM jobs) AS j
        WHERE priced AND era = 'separate';

        -- A priced line whose directions have no price: the views count its tokens with no currency.
        INSERT INTO tokengrid_ledger (tenant_id, sequence, at, job_id, model, kind, tokens, quota, charged_after, reserved_after,
            balance_after, prompt_tokens, completion_tokens, currency, price_version)
        VALUES ('ta', 100000, '2026-09-15T12:00:00Z', 'no-direction', 'demo', 'charge', 7, 1000000, 7, 0, 999993, 3, 4, 'USD', 1);
        ANALYZE;
        """;

    /// <summary><c>GET /v1/usage</c>'s days as before migration 0018: the view.</summary>
    private const string DailyThroughView = """
        SELECT day, model, currency, prompt_tokens, completion_tokens, list_micros, discount_micros, subsidy_micros, amount_due_micros
        FROM tokengrid_usage_money_daily WHERE tenant_id = $1 AND day BETWEEN $2 AND $3
        """;

    private const string PeriodsThroughView =
        "SELECT DISTINCT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM') FROM tokengrid_charges WHERE tenant_id = $1 ORDER BY 1";

    private const string LinesThroughView = """
        SELECT tenant_id, model, direction, region, currency, unit_price_micros, tokens, list_micros, discount_micros, subsidy_micros,
               amount_due_micros
        FROM tokengrid_statement_lines WHERE period = $1
        ORDER BY 1, 2, 3, 4, 5, 6
        """;

    private PostgresTestDatabase _database = null!;
    private NpgsqlDataSource _dataSource = null!;
    private PostgresStatementStore _statements = null!;

    public async Task InitializeAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync();
        _dataSource = NpgsqlDataSource.Create(_database.ConnectionString);
        _statements = new PostgresStatementStore(_dataSource);
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await _database.DisposeAsync();
    }

    private static readonly DateOnly[] Days =
    [
        new(2026, 6, 1), new(2026, 6, 30), new(2026, 7, 1), new(2026, 7, 14), new(2026, 7, 15), new(2026, 7, 31), new(2026, 8, 1),
        new(2026, 8, 9), new(2026, 8, 10), new(2026, 9, 15), new(2026, 9, 30), new(2026, 10, 1), new(2026, 12, 31),
    ];

    private static readonly string[] Tenants = ["ta", "tb", "tc", "ts", "nobody"];

    [Fact]
    public async Task Usage_days_are_the_views_rows_on_every_kind_of_charge_row()
    {
        await SeedEveryKindAsync();
        foreach (var tenant in Tenants)
        {
            foreach (var (from, i) in Days.Select((d, i) => (d, i)))
            {
                foreach (var through in Days[i..])
                {
                    var expected = await DailyAsync(DailyThroughView, tenant, from, through);
                    Assert.Equal(expected, await _statements.DailyAsync(tenant, from, through));
                }
            }
        }

        var allDays = await _statements.DailyAsync("ta", Days[0], Days[^1]);
        Assert.Contains(allDays, d => d.Currency == "EUR");
        Assert.Contains(allDays, d => d.Currency is null);
        Assert.Equal(3, allDays.Select(d => d.Model).Distinct().Count());
        Assert.True(allDays.Sum(d => d.Subsidy.Micros) > 0);
    }

    /// <summary>
    /// A tenant with a year of history and a small one beside it: a month's usage days read the ledger lines of that
    /// month only (counted in <c>EXPLAIN ANALYZE</c>), where the view read every line of the tenant or of the ledger.
    /// </summary>
    [Fact]
    public async Task Usage_days_read_the_ledger_lines_of_their_window_only()
    {
        await SeedYearAsync();
        foreach (var (tenant, number) in new[] { ("big", 11), ("small", 11), ("small", 3) })
        {
            var start = new DateTimeOffset(2026, number, 1, 0, 0, 0, TimeSpan.Zero);
            var month = $"at >= '{start:O}' AND at < '{start.AddMonths(1):O}'";
            var inMonth = await _database.ScalarAsync<long>($"SELECT count(*) FROM tokengrid_ledger WHERE tenant_id = '{tenant}' AND {month}");
            var everyTenantInMonth = await _database.ScalarAsync<long>($"SELECT count(*) FROM tokengrid_ledger WHERE {month}");
            Assert.InRange(everyTenantInMonth, 1, 2_200);

            // The tenant's lines of the month, through its index or the ledger's by time, as the planner prefers.
            var days = await LedgerRowsReadAsync(PostgresStatementStore.DailySql,
                tenant, DateOnly.FromDateTime(start.UtcDateTime), DateOnly.FromDateTime(start.AddMonths(1).AddDays(-1).UtcDateTime));
            Assert.InRange(days, inMonth - 2, everyTenantInMonth + 2);
        }
    }

    [Fact]
    public async Task The_months_with_charges_are_the_views_on_every_kind_of_charge_row()
    {
        await SeedEveryKindAsync();
        foreach (var tenant in Tenants)
        {
            var periods = await StringsAsync(PeriodsThroughView, tenant);
            Assert.Equal(periods, (await _statements.PeriodsWithChargesAsync(tenant)).Select(p => p.ToString()));
        }

        Assert.Equal(["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"], await StringsAsync(PeriodsThroughView, "ta"));
        Assert.Empty(await _statements.PeriodsWithChargesAsync("tc"));
    }

    /// <summary>The statements list finds a year's twelve months in a few ledger rows each, not the year's charges.</summary>
    [Fact]
    public async Task The_months_with_charges_are_found_in_a_few_ledger_rows_each()
    {
        await SeedYearAsync();
        Assert.InRange(await LedgerRowsReadAsync(PostgresStatementStore.PeriodsSql, "big"), 12, 40);
        Assert.InRange(await LedgerRowsReadAsync(PostgresStatementStore.PeriodsSql, "small"), 12, 40);
    }

    [Fact]
    public async Task A_close_stores_what_the_statement_view_shows_on_every_kind_of_charge_row()
    {
        await SeedEveryKindAsync();

        // Each month's close stores what the statement view showed before it, for every tenant, and counts them.
        foreach (var text in new[] { "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11" })
        {
            Assert.True(StatementPeriod.TryParse(text, out var period));
            var shown = await RowsAsync(LinesThroughView, text);
            var tenantsShown = shown.Select(r => (string)r[0]).Distinct().Count();
            var close = await _statements.CloseAsync(period, period.End.AddMinutes(5));
            Assert.Equal(tenantsShown, close.Statements);
            var stored = await RowsAsync(LinesThroughView.Replace("tokengrid_statement_lines", "tokengrid_statements"), text);
            Assert.Equal(shown, stored);
            foreach (var tenant in Tenants)
            {
                Assert.Equal(await _statements.ComputeAsync(tenant, period), await _statements.ReadClosedAsync(tenant, period));
            }
        }
    }

    /// <summary>A close reads the month's priced lines of every tenant (rolled back), not the year's.</summary>
    [Fact]
    public async Task A_close_reads_the_ledger_lines_of_its_month_only()
    {
        await SeedYearAsync();
        Assert.True(StatementPeriod.TryParse("2026-11", out var november));
        var priced = await _database.ScalarAsync<long>(
            $"SELECT count(*) FROM tokengrid_ledger WHERE currency IS NOT NULL AND at >= '{november.Start:O}' AND at < '{november.End:O}'");
        Assert.InRange(
            await LedgerRowsReadAsync(PostgresStatementStore.CloseSql, november.ToString(), november.Start, november.End, DateTimeOffset.UtcNow, "2026-10"),
            priced, 2 * priced);
    }

    /// <summary>
    /// With October closed, November's open statement looks for late lines among the tenant's priced lines stored
    /// since that close (migration 0020's index), not among all its lines since then or all its priced charges before
    /// November (docs/benchmarks.md, "Late lines by sequence").
    /// </summary>
    [Fact]
    public async Task An_open_statement_looks_for_late_lines_among_the_priced_lines_since_the_close_only()
    {
        await SeedYearAsync();
        await _database.ExecuteAsync("""
            INSERT INTO tokengrid_tenants SELECT tenant_id, 1, max(sequence), 0, 0, '\x00'::bytea, now() FROM tokengrid_ledger GROUP BY tenant_id;
            INSERT INTO tokengrid_periods (period, closed_at, statements, watermarked) VALUES ('2026-10', '2026-11-01 00:06+00', 2, true);
            INSERT INTO tokengrid_period_tenants
                SELECT '2026-10', tenant_id, max(sequence) FROM tokengrid_ledger WHERE at < '2026-11-01 00:06+00' GROUP BY tenant_id;
            ANALYZE;
            """);
        Assert.True(StatementPeriod.TryParse("2026-11", out var november));
        var pricedSinceClose = await _database.ScalarAsync<long>(
            "SELECT count(*) FROM tokengrid_ledger WHERE tenant_id = 'big' AND currency IS NOT NULL AND at >= '2026-11-01 00:06+00'");
        var chargesInMonth = await _database.ScalarAsync<long>(
            $"SELECT count(*) FROM tokengrid_ledger WHERE tenant_id = 'big' AND kind = 'charge' AND at >= '{november.Start:O}' AND at < '{november.End:O}'");

        // The month's own charge lines (through migration 0018's index), then the priced lines since the close; without
        // the index, the planner read every line since the close or every priced charge before November.
        Assert.InRange(
            await LedgerRowsReadAsync(PostgresStatementStore.ComputeSql, "big", november.Start, november.End, "2026-10"),
            chargesInMonth, chargesInMonth + pricedSinceClose + 100);
    }

    /// <summary><see cref="SeedSql"/>, and a fourth tenant written by the tenant store as the tenant grain writes.</summary>
    private async Task SeedEveryKindAsync()
    {
        await _database.ExecuteAsync(SeedSql);
        var store = new PostgresTenantStore(_dataSource, PostgresTenantStoreTests.Serializer);
        var written = PricedLedger.Random(new Random(49), "ts", 1, 300, new DateTimeOffset(2026, 7, 25, 0, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, 10, 5, 0, 0, 0, TimeSpan.Zero));
        var version = 0L;
        foreach (var batch in written.Chunk(100))
        {
            var saved = await store.SaveAsync(new TenantSave("ts", new TenantState { LastSequence = batch[^1].Sequence }, version, batch, []));
            Assert.True(saved.Saved);
            version = saved.Version;
        }

        Assert.True(await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_charges_by_direction") > 1_000);
        Assert.True(await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_charge_lines_separate") > 500);
        Assert.True(await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_ledger WHERE currency IS NOT NULL") > 1_000);
    }

    /// <summary>A year of 2026 for "big" (24,000 charge lines, every 21 minutes) and "small" (240, every 35 hours), half priced.</summary>
    private Task SeedYearAsync() => _database.ExecuteAsync("""
        INSERT INTO tokengrid_ledger (tenant_id, sequence, at, job_id, model, kind, tokens, quota, charged_after, reserved_after,
            balance_after, prompt_tokens, completion_tokens, currency, price_version, prompt_unit_price_micros, prompt_list_micros,
            prompt_discount_micros, prompt_subsidy_micros, prompt_tenant_micros)
        SELECT tenant_id, s, timestamptz '2026-01-01 00:00:00+00' + s * step, 'job-' || s, 'demo', 'charge', 20, 1000000, 20, 0, 999980,
               20, 0, CASE WHEN s % 2 = 0 THEN 'USD' END, CASE WHEN s % 2 = 0 THEN 1 END, CASE WHEN s % 2 = 0 THEN 1000000 END,
               CASE WHEN s % 2 = 0 THEN 20 END, CASE WHEN s % 2 = 0 THEN 0 END, CASE WHEN s % 2 = 0 THEN 0 END,
               CASE WHEN s % 2 = 0 THEN 20 END
        FROM (VALUES ('big', 24000, interval '21 minutes'), ('small', 240, interval '35 hours')) AS t(tenant_id, lines, step)
        CROSS JOIN LATERAL generate_series(1, lines) AS s;
        ANALYZE;
        """);

    /// <summary>How many ledger rows the statement read, as <c>EXPLAIN (ANALYZE)</c> counts them (rolled back).</summary>
    private async Task<long> LedgerRowsReadAsync(string sql, params object[] values)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand($"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        using var plan = JsonDocument.Parse((string)(await command.ExecuteScalarAsync())!);
        await transaction.RollbackAsync();
        return Read(plan.RootElement[0].GetProperty("Plan"));

        static long Read(JsonElement node)
        {
            var rows = 0.0;
            if (node.TryGetProperty("Relation Name", out var relation) && relation.GetString() == "tokengrid_ledger")
            {
                rows = node.GetProperty("Actual Loops").GetDouble() * (node.GetProperty("Actual Rows").GetDouble()
                    + (node.TryGetProperty("Rows Removed by Filter", out var filtered) ? filtered.GetDouble() : 0)
                    + (node.TryGetProperty("Rows Removed by Index Recheck", out var rechecked) ? rechecked.GetDouble() : 0));
            }

            return (long)Math.Round(rows) + (node.TryGetProperty("Plans", out var children) ? children.EnumerateArray().Sum(Read) : 0);
        }
    }

    private async Task<IReadOnlyList<DailyUsage>> DailyAsync(string sql, string tenant, DateOnly from, DateOnly through)
    {
        var rows = await RowsAsync(sql, tenant, from, through);
        return StatementBuilder.Order([.. rows.Select(r => new DailyUsage(
            (DateOnly)r[0], (string)r[1], r[2] is DBNull ? null : ((string)r[2]).Trim(), (long)r[3], (long)r[4],
            new Money((long)r[5]), new Money((long)r[6]), new Money((long)r[7]), new Money((long)r[8])))]);
    }

    private async Task<List<string>> StringsAsync(string sql, params object[] values) =>
        [.. (await RowsAsync(sql, values)).Select(r => (string)r[0])];

    private Task<List<object[]>> RowsAsync(string sql, params object[] values) => _database.QueryAsync(sql, values);
}
