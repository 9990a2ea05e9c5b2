using Npgsql;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Tests.Billing;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// Money on PostgreSQL: priced charges round-trip through the tenant and ledger stores, and the statement view, the
/// stored statements and the usage and oversight views agree with <see cref="StatementBuilder"/> to the micro.
/// </summary>
public sealed class PostgresStatementStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset October = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Dictionary<string, StoredTenant> _tenants = [];
    private PostgresTestDatabase _database = null!;
    private NpgsqlDataSource _dataSource = null!;
    private PostgresTenantStore _tenantStore = null!;
    private PostgresStatementStore _statements = null!;

    public async Task InitializeAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync();
        _dataSource = NpgsqlDataSource.Create(_database.ConnectionString);
        _tenantStore = new PostgresTenantStore(_dataSource, PostgresTenantStoreTests.Serializer);
        _statements = new PostgresStatementStore(_dataSource);
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await _database.DisposeAsync();
    }

    private static StatementPeriod Period(string text)
    {
        Assert.True(StatementPeriod.TryParse(text, out var period));
        return period;
    }

    private async Task SaveAsync(string tenantId, IReadOnlyList<LedgerEntry> lines)
    {
        var (state, version) = _tenants.GetValueOrDefault(tenantId) ?? new StoredTenant(new TenantState(), 0);
        state.LastSequence = lines[^1].Sequence;
        var saved = await _tenantStore.SaveAsync(new TenantSave(tenantId, state, version, lines, []));
        Assert.True(saved.Saved);
        _tenants[tenantId] = new StoredTenant(state, saved.Version);
    }

    [Fact]
    public async Task A_priced_charge_round_trips_with_its_spend_and_an_unpriced_one_stays_unpriced()
    {
        var priced = PricedLedger.Charge("t1", 2, October.AddDays(3), 1_234, 5_678, discountBps: 1_000, subsidyBps: 4_000) with
        {
            SpendChargedAfter = 9_000, SpendReservedAfter = 12,
        };
        var noPlace = PricedLedger.Charge("t1", 3, October.AddDays(4), 1, 2, region: null, home: null);
        var reserve = new LedgerEntry(1, October, "t1", "job-2", "demo", LedgerEntryKind.Reserve, 10_000, PricedLedger.Quota, 0, 10_000,
            PricedLedger.Quota - 10_000, SpendMicros: 5_000, SpendReservedAfter: 5_000);
        var unpriced = new LedgerEntry(4, October.AddDays(5), "t1", "job-4", "demo", LedgerEntryKind.Charge, 10, PricedLedger.Quota, 10, 0,
            PricedLedger.Quota - 10, 4, 6);
        await SaveAsync("t1", [reserve, priced, noPlace, unpriced]);

        var read = (await new PostgresLedgerStore(_dataSource).ReadAsync("t1", 0, 10)).Entries;
        Assert.Equal(4, read.Count);
        foreach (var (expected, actual) in new[] { reserve, priced, noPlace, unpriced }.Zip(read))
        {
            Assert.True(PricedLedger.SameEntry(expected, actual), $"{expected}\n!=\n{actual}");
        }

        var job = await new PostgresLedgerStore(_dataSource).FindJobAsync("t1", "job-2");
        Assert.True(PricedLedger.SameEntry(priced, job[1]));
        Assert.Equal(4L, await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_charges WHERE tenant_id = 't1'"));
    }

    /// <summary>
    /// Charge rows have no foreign key to their line (migration 0013): the store writes them only with their line, so a
    /// save refused for its version or for a repeated reservation writes none, and no row is ever without its line.
    /// </summary>
    [Fact]
    public async Task A_charge_row_is_written_only_with_its_line()
    {
        const string Orphans = """
            SELECT count(*) FROM tokengrid_charges c
            WHERE NOT EXISTS (SELECT FROM tokengrid_ledger l WHERE l.tenant_id = c.tenant_id AND l.sequence = c.sequence)
            """;
        var reserve = new LedgerEntry(1, October, "t1", "job-2", "demo", LedgerEntryKind.Reserve, 10_000, PricedLedger.Quota, 0, 10_000,
            PricedLedger.Quota - 10_000, SpendMicros: 5_000, SpendReservedAfter: 5_000);
        await SaveAsync("t1", [reserve, PricedLedger.Charge("t1", 2, October.AddDays(1), 100, 200)]);

        // At a version that is not the stored one: nothing is written, the charge rows included.
        var stale = new TenantSave("t1", new TenantState { LastSequence = 3 }, ExpectedVersion: 7, [PricedLedger.Charge("t1", 3, October.AddDays(2), 1, 2)], []);
        await Assert.ThrowsAsync<Orleans.Storage.InconsistentStateException>(() => _tenantStore.SaveAsync(stale));

        // A second reservation for job-2 refuses the whole batch, its priced charge too.
        var (state, version) = _tenants["t1"];
        var repeat = await _tenantStore.SaveAsync(new TenantSave("t1", state, version, [reserve with { Sequence = 3 }, PricedLedger.Charge("t1", 4, October.AddDays(2), 1, 2)], []));
        Assert.Equal(["job-2"], repeat.AlreadyReserved);

        Assert.Equal(2L, await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_charges"));
        Assert.Equal(0L, await _database.ScalarAsync<long>(Orphans));
        await Assert.ThrowsAsync<PostgresException>(() => _database.ScalarAsync<long>("DELETE FROM tokengrid_ledger WHERE sequence = 2 RETURNING 0"));
    }

    [Fact]
    public async Task The_view_reproduces_every_statement_and_days_usage_to_the_micro()
    {
        var random = new Random(17);
        var ledgers = new Dictionary<string, List<LedgerEntry>>();
        foreach (var tenant in new[] { "ta", "tb", "tc" })
        {
            var lines = PricedLedger.Random(random, tenant, 1, 400, October.AddDays(-3), October.AddMonths(2).AddDays(3));

            // Unpriced charges count tokens in daily usage but never in a statement.
            lines.Add(new LedgerEntry(401, October.AddDays(9), tenant, "unpriced", "demo", LedgerEntryKind.Charge, 10, PricedLedger.Quota, 0, 0, PricedLedger.Quota, 4, 6));
            foreach (var batch in lines.Chunk(100))
            {
                await SaveAsync(tenant, batch);
            }

            ledgers[tenant] = lines;
        }

        foreach (var (tenant, lines) in ledgers)
        {
            foreach (var period in new[] { "2026-09", "2026-10", "2026-11", "2026-12", "2027-01" }.Select(Period))
            {
                var built = StatementBuilder.Build(tenant, period, lines).Lines;
                Assert.Equal(built, await _statements.ComputeAsync(tenant, period));
            }

            var from = DateOnly.FromDateTime(October.AddDays(-5).UtcDateTime);
            var through = DateOnly.FromDateTime(October.AddMonths(3).UtcDateTime);
            Assert.Equal(StatementBuilder.Daily(lines, from, through), await _statements.DailyAsync(tenant, from, through));
            foreach (var (first, last) in new[] { (10, 40), (0, 0), (31, 31), (-3, 61) })
            {
                // Windows inside the lines, and a single day each side of a month's turn.
                var (start, end) = (DateOnly.FromDateTime(October.AddDays(first).UtcDateTime), DateOnly.FromDateTime(October.AddDays(last).UtcDateTime));
                Assert.Equal(StatementBuilder.Daily(lines, start, end), await _statements.DailyAsync(tenant, start, end));
            }
            Assert.Equal(["2026-09", "2026-10", "2026-11", "2026-12"], (await _statements.PeriodsWithChargesAsync(tenant)).Select(p => p.ToString()));
        }

        // Conservation: the statements' totals, the charges and each oversight view sum to the same micros.
        var all = ledgers.Values.SelectMany(l => l).Where(e => e.Priced is not null).ToList();
        var statementsDue = 0L;
        foreach (var (tenant, lines) in ledgers)
        {
            foreach (var period in (await _statements.PeriodsWithChargesAsync(tenant)))
            {
                statementsDue += StatementBuilder.Build(tenant, period, lines).Totals.Sum(t => t.AmountDue.Micros);
            }
        }

        Assert.Equal(all.Sum(e => e.Priced!.Tenant.Micros), statementsDue);
        Assert.Equal(statementsDue, await _database.ScalarAsync<long>("SELECT sum(tenant_micros)::bigint FROM tokengrid_charges"));
        Assert.Equal(statementsDue, await _database.ScalarAsync<long>("SELECT sum(amount_due_micros)::bigint FROM tokengrid_statement_totals"));
        Assert.Equal(statementsDue, await _database.ScalarAsync<long>("SELECT sum(tenant_micros)::bigint FROM tokengrid_flows_daily"));
        Assert.Equal(
            all.Sum(e => e.Priced!.Subsidy.Micros),
            await _database.ScalarAsync<long>("SELECT sum(subsidy_micros)::bigint FROM tokengrid_program_spend_daily"));
        Assert.Equal(
            all.Sum(e => e.PromptTokens),
            await _database.ScalarAsync<long>("SELECT sum(prompt_tokens)::bigint FROM tokengrid_flows_daily"));

        // Flows keep demand and creation regions apart.
        var flows = await _database.QueryAsync(
            "SELECT demand_region, creation_region, sum(list_micros)::bigint FROM tokengrid_flows_daily GROUP BY 1, 2");
        var expected = all.GroupBy(e => (e.Priced!.HomeRegion, e.Priced.Place?.Region)).ToDictionary(g => g.Key, g => g.Sum(e => e.Priced!.Lines.Sum(l => l.List.Micros)));
        Assert.Equal(expected.Count, flows.Count);
        Assert.All(flows, row => Assert.Equal(
            expected[((string)row[0], row[1] is DBNull ? null : (string)row[1])], (long)row[2]));
    }

    [Fact]
    public async Task A_silo_whose_clock_runs_an_hour_ahead_cannot_close_the_month_before_the_database_says_it_ended()
    {
        var current = StatementPeriod.Of(DateTimeOffset.UtcNow);

        // The silo's clock says the month ended an hour ago; PostgreSQL's says it has not.
        var refused = await Assert.ThrowsAsync<PeriodNotEndedException>(() => _statements.CloseAsync(current, current.End.AddHours(1)));

        Assert.Equal(current, refused.Period);
        Assert.InRange(refused.Wait, current.End + StatementBook.CloseGrace - DateTimeOffset.UtcNow, current.End.AddMonths(1) - current.Start);
        Assert.Empty(await _statements.ClosedAsync());
        Assert.Equal(0L, await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_periods"));
    }

    [Fact]
    public async Task A_closed_statement_never_changes_and_closing_again_answers_the_first_close()
    {
        await SaveAsync("ta", [PricedLedger.Charge("ta", 1, October.AddDays(1), 1_000, 2_000), PricedLedger.Charge("ta", 2, October.AddDays(20), 1_000, 2_000, completionPrice: "0.45", version: 2)]);
        await SaveAsync("tb", [PricedLedger.Charge("tb", 1, October.AddDays(2), 10, 20, subsidyBps: 4_000)]);
        var before = await _statements.ComputeAsync("ta", Period("2026-10"));
        Assert.Equal(3, before.Count);

        var closedAt = new DateTimeOffset(2026, 11, 1, 0, 0, 5, TimeSpan.Zero);
        var first = await _statements.CloseAsync(Period("2026-10"), closedAt);
        Assert.Equal((closedAt, 2), (first.ClosedAt, first.Statements));

        // A charge dated in the closed month (a late clock, say) changes the view, never the stored statement.
        await SaveAsync("ta", [PricedLedger.Charge("ta", 3, October.AddDays(21), 5, 5)]);
        Assert.NotEqual(before, await _statements.ComputeAsync("ta", Period("2026-10")));
        Assert.Equal(before, await _statements.ReadClosedAsync("ta", Period("2026-10")));
        Assert.Equal(first, await _statements.CloseAsync(Period("2026-10"), closedAt.AddDays(1)));
        Assert.Equal([first], await _statements.ClosedAsync());
        Assert.Empty(await _statements.ReadClosedAsync("nobody", Period("2026-10")));

        foreach (var sql in new[]
        {
            "UPDATE tokengrid_statements SET amount_due_micros = 0, list_micros = discount_micros + subsidy_micros",
            "DELETE FROM tokengrid_statements", "TRUNCATE tokengrid_statements CASCADE",
            "UPDATE tokengrid_periods SET closed_at = now()", "DELETE FROM tokengrid_periods",
        })
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => _database.ExecuteAsync(sql));
            Assert.Contains("append-only", refused.MessageText);
        }

        Assert.Equal(before, await _statements.ReadClosedAsync("ta", Period("2026-10")));
    }

    /// <summary>
    /// A priced charge dated in a closed month and stored after the close (a settlement retried through an outage, a job
    /// settled late) was in no statement: the closed one was stored without it and the next selected by date. It is now
    /// a late line of the first later statement still open when it was stored, stored with that statement at its close,
    /// and every charge's money is in exactly one statement.
    /// </summary>
    [Fact]
    public async Task A_charge_stored_after_its_month_closed_is_a_late_line_of_the_next_open_statement()
    {
        var november = October.AddMonths(1);
        var ledger = new Dictionary<string, List<LedgerEntry>>
        {
            ["ta"] = [PricedLedger.Charge("ta", 1, October.AddDays(1), 1_000, 2_000), PricedLedger.Charge("ta", 2, november.AddDays(3), 300, 400)],
            ["tb"] = [PricedLedger.Charge("tb", 1, October.AddDays(2), 10, 20, subsidyBps: 4_000)],
        };
        async Task StoreAsync(string tenant, LedgerEntry line)
        {
            ledger.TryAdd(tenant, []);
            ledger[tenant].Add(line);
            await SaveAsync(tenant, [line]);
        }

        foreach (var (tenant, lines) in ledger)
        {
            await SaveAsync(tenant, lines);
        }

        var october = await _statements.CloseAsync(Period("2026-10"), november.AddMinutes(6));
        Assert.Equal(2, october.Statements);
        var storedOctober = await _statements.ReadClosedAsync("ta", Period("2026-10"));

        // Late for October: the last second of the month, a day before, and a tenant first stored after the close.
        await StoreAsync("ta", PricedLedger.Charge("ta", 3, november.AddSeconds(-1), 7, 11));
        await StoreAsync("tb", PricedLedger.Charge("tb", 2, October.AddDays(29), 5, 5, subsidyBps: 4_000));
        await StoreAsync("tc", PricedLedger.Charge("tc", 1, October.AddDays(14), 50, 60));

        Assert.Equal(storedOctober, await _statements.ReadClosedAsync("ta", Period("2026-10")));
        var openNovember = await _statements.ComputeAsync("ta", Period("2026-11"));
        Assert.Equal(StatementBuilder.Build("ta", Period("2026-11"), ledger["ta"], heldThrough: HeldThrough("2026-10", 2)).Lines, openNovember);
        Assert.Equal([null, null, Period("2026-10"), Period("2026-10")], openNovember.Select(l => l.LateFrom));

        var closedNovember = await _statements.CloseAsync(Period("2026-11"), november.AddMonths(1).AddMinutes(6));
        Assert.Equal(3, closedNovember.Statements);
        Assert.Equal(openNovember, await _statements.ReadClosedAsync("ta", Period("2026-11")));
        Assert.Equal(["2026-10"], (await _statements.ReadClosedAsync("tc", Period("2026-11"))).Select(l => l.LateFrom.ToString()).Distinct());

        // Late for both closed months: into December, still open; a charge of November stored now too.
        await StoreAsync("ta", PricedLedger.Charge("ta", 4, October.AddDays(20), 1, 2));
        await StoreAsync("ta", PricedLedger.Charge("ta", 5, november.AddDays(29), 3, 4));
        var december = await _statements.ComputeAsync("ta", Period("2026-12"));
        Assert.Equal([Period("2026-10"), Period("2026-10"), Period("2026-11"), Period("2026-11")], december.Select(l => l.LateFrom));

        // Every charge's money is in exactly one statement: the closed ones as stored, the later ones as read now.
        var book = new StatementBook(_statements, TimeProvider.System);
        foreach (var (tenant, lines) in ledger)
        {
            var statements = await book.ListAsync(tenant);
            Assert.Equal(
                lines.Sum(e => e.Priced!.Tenant.Micros),
                statements.Sum(s => s.Totals.Sum(t => t.AmountDue.Micros)));
            Assert.Equal(lines.Sum(e => e.PromptTokens + e.CompletionTokens), statements.Sum(s => s.Lines.Sum(l => l.Tokens)));
        }

        Assert.Equal(["2026-11"], (await book.ListAsync("tc")).Where(s => s.Lines.Count > 0).Select(s => s.Period.ToString()));
        await Assert.ThrowsAsync<PostgresException>(() => _database.ExecuteAsync("DELETE FROM tokengrid_period_tenants"));
    }

    /// <summary>
    /// The spend view's ranking: the month's largest spenders (their statements' own amount due), largest first, cut at
    /// the limit, with the number of tenants that spent; the same as the in-memory store's.
    /// </summary>
    [Fact]
    public async Task The_largest_spenders_of_a_month_come_first_and_are_counted_before_the_limit()
    {
        var november = October.AddMonths(1);
        var lines = new Dictionary<string, LedgerEntry[]>
        {
            ["a-small"] = [PricedLedger.Charge("a-small", 1, November(3), 10, 20)],
            ["b-none-in-november"] = [PricedLedger.Charge("b-none-in-november", 1, October.AddDays(3), 90_000, 90_000)],
            ["y-large"] = [PricedLedger.Charge("y-large", 1, November(4), 50_000, 60_000), PricedLedger.Charge("y-large", 2, November(5), 1, 1)],
            ["z-middle"] = [PricedLedger.Charge("z-middle", 1, November(6), 5_000, 6_000, subsidyBps: 4_000)],
        };
        var memory = new TokenGrid.Grains.Ledger.InMemoryLedgerStore();
        foreach (var (tenant, entries) in lines)
        {
            await SaveAsync(tenant, entries);
            memory.Append(tenant, entries);
        }

        var top = await _statements.TopSpendersAsync(Period("2026-11"), 2);

        Assert.Equal(["y-large", "z-middle"], top.Top.Select(s => s.TenantId));
        Assert.Equal(3, top.Tenants);
        Assert.Equal(lines["y-large"].Sum(e => e.Priced!.Tenant.Micros), top.Top[0].AmountDue.Micros);
        var inMemory = await new InMemoryStatementStore(memory).TopSpendersAsync(Period("2026-11"), 2);
        Assert.Equal(top.Top, inMemory.Top);
        Assert.Equal(top.Tenants, inMemory.Tenants);

        DateTimeOffset November(int day) => november.AddDays(day);
    }

    /// <summary>What the test's closes saw: October's close saw <paramref name="taSequence"/> of ta, one of tb, none of tc.</summary>
    private static Func<StatementPeriod, long?> HeldThrough(string closed, long taSequence) => month =>
        month.ToString() == closed ? taSequence : null;
}
