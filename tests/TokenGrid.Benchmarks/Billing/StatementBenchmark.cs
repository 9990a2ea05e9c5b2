using System.CommandLine;
using System.Diagnostics;
using Npgsql;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Benchmarks.Billing;

/// <summary>
/// A tenant's statement for a month of <c>--lines</c> priced ledger lines (each a charge with a prompt and a completion,
/// priced in its own ledger row, which the <c>tokengrid_charges</c> view reads as two: 3 models, 3 creation regions, a
/// price change mid-month), computed as the API does
/// (<see cref="PostgresStatementStore.ComputeAsync"/> over the <c>tokengrid_statement_lines</c> view), against a plain
/// <c>SUM … GROUP BY</c> over the same rows, rounds interleaved. <c>statement_vs_sql</c> is the statement's rate over the
/// plain query's (higher is better). Needs PostgreSQL (<c>--postgres</c> or <c>TOKENGRID_TEST_POSTGRES</c>).
/// </summary>
public static class StatementBenchmark
{
    private static readonly Option<int> s_rounds = BenchmarkCommand.Int("--rounds", 5, "Interleaved rounds; medians are reported.");
    private static readonly Option<int> s_lines = BenchmarkCommand.Int("--lines", 1_000_000, "Priced ledger lines of the tenant in the month.");
    private static readonly Option<string?> s_postgres = BenchmarkCommand.Postgres();

    private const string Tenant = "bench-tenant";

    /// <summary>The <c>statement</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "statement", "A month's statement over a million priced ledger lines, against a plain SUM ... GROUP BY.", RunAsync, s_rounds, s_lines, s_postgres);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var rounds = args.GetValue(s_rounds);
        var lines = args.GetValue(s_lines);
        var server = BenchDatabase.RequireServer(args.GetValue(s_postgres), "The statement benchmark");
        await using var database = await BenchDatabase.CreateAsync(server, migrate: true);
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        var fill = Stopwatch.StartNew();
        await FillAsync(dataSource, lines);
        var filled = fill.Elapsed.TotalSeconds;

        var store = new PostgresStatementStore(dataSource);
        var period = StatementPeriod.TryParse("2026-11", out var month) ? month : throw new InvalidOperationException("period");
        var statementTimes = new List<double>();
        var sqlTimes = new List<double>();
        IReadOnlyList<StatementLine> statement = [];
        long plainDue = 0;
        for (var round = -1; round < rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            statement = await store.ComputeAsync(Tenant, period);
            var statementSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            plainDue = await PlainAsync(dataSource);
            var sqlSeconds = clock.Elapsed.TotalSeconds;
            if (round >= 0)
            {
                // Round -1 warms the caches and the plans.
                statementTimes.Add(statementSeconds);
                sqlTimes.Add(sqlSeconds);
            }
        }

        var due = statement.Sum(l => l.AmountDue.Micros);
        if (due != plainDue)
        {
            throw new InvalidOperationException($"The statement's amount due ({due}) differs from the plain sum ({plainDue}).");
        }

        var statementMs = Stats.Median(statementTimes) * 1000;
        var sqlMs = Stats.Median(sqlTimes) * 1000;
        return new BenchmarkReport("statement")
            .Add("processors", Environment.ProcessorCount)
            .Add("rounds", rounds)
            .Add("ledger_lines", lines)
            .Add("charge_rows", 2L * lines)
            .Add("fill_s", filled)
            .Add("statement_lines", statement.Count)
            .Add("statement_ms", statementMs)
            .Add("plain_sql_ms", sqlMs)
            .Add("statement_vs_sql", sqlMs / statementMs);
    }

    /// <summary>
    /// The tenant's ledger: <paramref name="lines"/> charge lines spread over November 2026 (sequence, balance and spend
    /// columns consistent), each priced in its row as a tenant's save writes it (migration 0015): 3 models, 3 regions,
    /// unit prices that change on the 15th.
    /// </summary>
    private static async Task FillAsync(NpgsqlDataSource dataSource, int lines)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandTimeout = 0;
        // No autovacuum on the fresh tables: its worker would hold the database when the benchmark drops it.
        command.CommandText = $"""
            ALTER TABLE tokengrid_ledger SET (autovacuum_enabled = false);
            INSERT INTO tokengrid_ledger (tenant_id, sequence, at, job_id, model, kind, tokens, quota, charged_after, reserved_after,
                                          balance_after, prompt_tokens, completion_tokens, spend_micros, spend_charged_after, spend_reserved_after,
                                          currency, price_version, program_id, node_id, silo, region, home_region,
                                          prompt_unit_price_micros, prompt_list_micros, prompt_discount_micros, prompt_subsidy_micros,
                                          prompt_tenant_micros, completion_unit_price_micros, completion_list_micros,
                                          completion_discount_micros, completion_subsidy_micros, completion_tenant_micros)
            SELECT '{Tenant}', s, at, 'job-' || s, 'model-' || (s % 3), 'charge', 300, 1000000000000, 300 * s, 0, 1000000000000 - 300 * s,
                   100, 200, 0, 0, 0,
                   'USD', v.version, 'public-sector', 'silo-' || (s % 3) || '/cpu0', 'silo-' || (s % 3), 'region-' || (s % 3), 'west',
                   150000 * v.version, pl.list, pl.list / 10, (pl.list - pl.list / 10) * 4 / 10,
                   pl.list - pl.list / 10 - (pl.list - pl.list / 10) * 4 / 10,
                   600000 * v.version, cl.list, cl.list / 10, (cl.list - cl.list / 10) * 4 / 10,
                   cl.list - cl.list / 10 - (cl.list - cl.list / 10) * 4 / 10
            FROM generate_series(1, {lines}) AS s
            CROSS JOIN LATERAL (SELECT timestamptz '2026-11-01 00:00:00+00' + (s * interval '2 seconds' * 1000000 / {lines}) AS at) AS t
            CROSS JOIN LATERAL (SELECT CASE WHEN t.at < timestamptz '2026-11-15 00:00:00+00' THEN 1 ELSE 2 END AS version) AS v
            CROSS JOIN LATERAL (SELECT round(100 * 150000 * v.version / 1000000.0)::bigint AS list) AS pl
            CROSS JOIN LATERAL (SELECT round(200 * 600000 * v.version / 1000000.0)::bigint AS list) AS cl;
            ANALYZE tokengrid_ledger;
            """;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The plain query a billing team would write: the month's rows summed per model, direction and region.</summary>
    private static async Task<long> PlainAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT model, direction, region, sum(tokens), sum(list_micros), sum(discount_micros), sum(subsidy_micros), sum(tenant_micros)
            FROM tokengrid_charges
            WHERE tenant_id = $1 AND at >= timestamptz '2026-11-01 00:00:00+00' AND at < timestamptz '2026-12-01 00:00:00+00'
            GROUP BY model, direction, region
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Tenant });
        await using var reader = await command.ExecuteReaderAsync();
        long due = 0;
        while (await reader.ReadAsync())
        {
            due += reader.GetInt64(7);
        }

        return due;
    }
}
