using Npgsql;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;
using TokenGrid.Storage.Postgres;
using TokenGrid.Storage.Postgres.Migrations;

namespace TokenGrid.Silo.Tests.Database;

public sealed class MigrationTests
{
    // What each Orleans ADO.NET provider (10.4.2) requires in OrleansQuery.
    private static readonly string[] s_orleansQueryKeys =
    [
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey", "MembershipReadRowKey",
        "MembershipReadAllKey", "GatewaysQueryKey", "DeleteMembershipTableEntriesKey", "CleanupDefunctSiloEntriesKey",
        "ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey",
        "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key", "ReadRangeRows2Key",
        "DeleteReminderRowKey", "DeleteReminderRowsKey",
    ];

    [Fact]
    public void The_build_carries_ordered_migrations_with_checksums()
    {
        Assert.Equal([1, 2, 3, 4], Migration.All.Select(m => m.Version).Take(4));
        Assert.Equal("orleans_clustering", Migration.All[0].Name);
        Assert.All(Migration.All, m => Assert.Matches("^[0-9a-f]{64}$", m.Checksum));
        Assert.Throws<FormatException>(() => Migration.Parse("clustering.sql", "SELECT 1"));
        Assert.Equal(Migration.Parse("0009_x.sql", "SELECT 1\n").Checksum, Migration.Parse("0009_x.sql", "SELECT 1\r\n").Checksum);
    }

    [Fact]
    public async Task Migrations_apply_to_an_empty_database_and_a_second_run_is_a_no_op()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var runner = new MigrationRunner();

        var first = await runner.MigrateAsync(database.ConnectionString);
        Assert.Equal(Migration.All.Select(m => m.Version), first.Applied.Select(m => m.Version));
        Assert.Equal(0, first.AlreadyApplied);

        var second = await runner.MigrateAsync(database.ConnectionString);
        Assert.Empty(second.Applied);
        Assert.Equal(Migration.All.Count, second.AlreadyApplied);

        var history = await database.QueryAsync("SELECT version, name, checksum, applied_at FROM tokengrid_schema_migrations ORDER BY version");
        Assert.Equal(Migration.All.Select(m => (m.Version, m.Name, m.Checksum)), history.Select(r => ((int)r[0], (string)r[1], (string)r[2])));
        Assert.All(history, r => Assert.IsType<DateTime>(r[3]));

        var keys = (await database.QueryAsync("SELECT querykey FROM orleansquery")).Select(r => (string)r[0]).ToHashSet();
        Assert.Subset(keys, s_orleansQueryKeys.ToHashSet());
    }

    /// <summary>
    /// Migration 0014 keeps a priced charge in one row; charges written per direction before it stay where they were
    /// and every view reads both, so a statement spanning the upgrade counts each charge once.
    /// </summary>
    [Fact]
    public async Task Charges_written_before_the_one_row_per_charge_migration_stay_in_the_views_beside_those_after()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var runner = new MigrationRunner();
        await runner.MigrateAsync(database.ConnectionString, [.. Migration.All.Where(m => m.Version < 14)]);
        await database.ExecuteAsync("""
            INSERT INTO tokengrid_ledger (tenant_id, sequence, at, job_id, model, kind, tokens, quota, charged_after, reserved_after,
                                          balance_after, prompt_tokens, completion_tokens)
            VALUES ('t', 1, '2026-11-10T00:00:00Z', 'old', 'm', 'charge', 30, 1000, 30, 0, 970, 10, 20),
                   ('t', 2, '2026-11-20T00:00:00Z', 'new', 'm', 'charge', 5, 1000, 35, 0, 965, 5, 0);
            INSERT INTO tokengrid_charges (tenant_id, sequence, direction, at, job_id, model, tokens, currency, price_version,
                                           unit_price_micros, list_micros, discount_micros, subsidy_micros, tenant_micros,
                                           program_id, region, home_region)
            VALUES ('t', 1, 'prompt', '2026-11-10T00:00:00Z', 'old', 'm', 10, 'USD', 1, 100000000, 1000000, 0, 400000, 600000, 'p', 'north', 'west'),
                   ('t', 1, 'completion', '2026-11-10T00:00:00Z', 'old', 'm', 20, 'USD', 1, 100000000, 2000000, 0, 800000, 1200000, 'p', 'north', 'west');
            """);

        Assert.Equal([14], (await runner.MigrateAsync(database.ConnectionString, [.. Migration.All.Where(m => m.Version <= 14)])).Applied.Select(m => m.Version));
        await database.ExecuteAsync("""
            INSERT INTO tokengrid_charge_lines (tenant_id, sequence, at, job_id, model, currency, price_version, program_id, region,
                                                home_region, prompt_tokens, prompt_unit_price_micros, prompt_list_micros,
                                                prompt_discount_micros, prompt_subsidy_micros, prompt_tenant_micros)
            VALUES ('t', 2, '2026-11-20T00:00:00Z', 'new', 'm', 'USD', 2, 'p', 'north', 'west', 5, 200000000, 1000000, 100000, 360000, 540000);
            """);

        // The new charge has no completion: its row reads as one direction, not two.
        await AssertTwoChargesCountedOnceAsync(database);

        // Append-only like the ledger, and a direction is all there or not at all.
        await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("DELETE FROM tokengrid_charge_lines"));
        await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("UPDATE tokengrid_charges_by_direction SET tokens = 0"));
        await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("""
            INSERT INTO tokengrid_charge_lines (tenant_id, sequence, at, job_id, model, currency, price_version, completion_tokens)
            VALUES ('t', 3, now(), 'half', 'm', 'USD', 1, 7)
            """));
    }

    /// <summary>
    /// Migration 0015 keeps a priced charge's price in its ledger line's row; rows migration 0014's table holds stay
    /// there, and <c>tokengrid_charge_lines</c> (now a view) and every view over it read both, each once.
    /// </summary>
    [Fact]
    public async Task Charge_rows_written_before_prices_moved_into_the_ledger_stay_in_the_views_beside_priced_lines()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var runner = new MigrationRunner();
        await runner.MigrateAsync(database.ConnectionString, [.. Migration.All.Where(m => m.Version < 15)]);
        await database.ExecuteAsync("""
            INSERT INTO tokengrid_ledger (tenant_id, sequence, at, job_id, model, kind, tokens, quota, charged_after, reserved_after,
                                          balance_after, prompt_tokens, completion_tokens)
            VALUES ('t', 1, '2026-11-10T00:00:00Z', 'old', 'm', 'charge', 30, 1000, 30, 0, 970, 10, 20);
            INSERT INTO tokengrid_charge_lines (tenant_id, sequence, at, job_id, model, currency, price_version, program_id, node_id, silo,
                                                region, home_region, prompt_tokens, prompt_unit_price_micros, prompt_list_micros,
                                                prompt_discount_micros, prompt_subsidy_micros, prompt_tenant_micros,
                                                completion_tokens, completion_unit_price_micros, completion_list_micros,
                                                completion_discount_micros, completion_subsidy_micros, completion_tenant_micros)
            VALUES ('t', 1, '2026-11-10T00:00:00Z', 'old', 'm', 'USD', 1, 'p', 'silo-a/cpu0', 'silo-a', 'north', 'west',
                    10, 100000000, 1000000, 0, 400000, 600000, 20, 100000000, 2000000, 0, 800000, 1200000);
            """);

        Assert.Equal([15], (await runner.MigrateAsync(database.ConnectionString, [.. Migration.All.Where(m => m.Version <= 15)])).Applied.Select(m => m.Version));
        const string priced = """
            INSERT INTO tokengrid_ledger (tenant_id, sequence, at, job_id, model, kind, tokens, quota, charged_after, reserved_after,
                                          balance_after, prompt_tokens, completion_tokens, currency, price_version, program_id, node_id,
                                          silo, region, home_region, prompt_unit_price_micros, prompt_list_micros, prompt_discount_micros,
                                          prompt_subsidy_micros, prompt_tenant_micros, completion_unit_price_micros, completion_list_micros,
                                          completion_discount_micros, completion_subsidy_micros, completion_tenant_micros)
            """;
        await database.ExecuteAsync($"""
            {priced}
            VALUES ('t', 2, '2026-11-20T00:00:00Z', 'new', 'm', 'charge', 9, 1000, 39, 0, 961, 5, 4, 'USD', 2, 'p', 'silo-b/cpu0', 'silo-b',
                    'north', 'west',
                    200000000, 1000000, 100000, 360000, 540000, NULL, NULL, NULL, NULL, NULL),
                   ('t', 3, '2026-11-21T00:00:00Z', 'unpriced', 'm', 'charge', 1, 1000, 40, 0, 960, 1, 0, NULL, NULL, NULL, NULL,
                    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
            """);

        // The new charge has no completion price: its line reads as one direction, not two; the unpriced line not at all.
        var lines = await database.QueryAsync("SELECT sequence, prompt_tokens, completion_tokens FROM tokengrid_charge_lines ORDER BY sequence");
        Assert.Equal([(1L, (long?)10L, (long?)20L), (2L, 5L, null)], lines.Select(r => ((long)r[0], r[1] as long?, r[2] as long?)));
        await AssertTwoChargesCountedOnceAsync(database);

        // The ledger's reader gives each line its price from wherever it was written, once.
        await using (var dataSource = NpgsqlDataSource.Create(database.ConnectionString))
        {
            var page = await new PostgresLedgerStore(dataSource).ReadAsync("t", 0, 10);
            Assert.Equal([1L, 2L, 3L], page.Entries.Select(e => e.Sequence));
            Assert.Equal(
                [(TokenDirection.Prompt, 10L, 600_000L), (TokenDirection.Completion, 20L, 1_200_000L)],
                page.Entries[0].Priced!.Lines.Select(l => (l.Direction, l.Tokens, l.Tenant.Micros)));
            Assert.Equal(new CreationPlace("silo-a/cpu0", "silo-a", "north"), page.Entries[0].Priced!.Place);
            Assert.Equal("west", page.Entries[0].Priced!.HomeRegion);
            Assert.Equal([(TokenDirection.Prompt, 5L, 540_000L)], page.Entries[1].Priced!.Lines.Select(l => (l.Direction, l.Tokens, l.Tenant.Micros)));
            Assert.Equal((2, "p", new CreationPlace("silo-b/cpu0", "silo-b", "north")),
                (page.Entries[1].Priced!.PriceVersion, page.Entries[1].Priced!.ProgramId, page.Entries[1].Priced!.Place));
            Assert.Null(page.Entries[2].Priced);
        }

        // A priced line is a charge with a currency and version; a direction is all there or not at all, adds up, and
        // only a program pays a subsidy. The ledger stays append-only, the table of migration 0014 too.
        const string columns = """
            INSERT INTO tokengrid_ledger (sequence, kind, tokens, prompt_tokens, completion_tokens, currency, price_version, program_id,
                                          prompt_unit_price_micros, prompt_list_micros, prompt_discount_micros, prompt_subsidy_micros,
                                          prompt_tenant_micros, completion_unit_price_micros, completion_list_micros,
                                          completion_discount_micros, completion_subsidy_micros, completion_tenant_micros,
                                          tenant_id, at, job_id, model, quota, charged_after, reserved_after, balance_after)
            """;
        string[] refused =
        [
            "4, 'reserve', 9, 0, 0, 'USD', 1, 'p', 1, 1, 0, 0, 1, 1, 1, 0, 0, 1",
            "4, 'charge', 9, 5, 4, 'USD', NULL, 'p', 1, 1, 0, 0, 1, 1, 1, 0, 0, 1",
            "4, 'charge', 9, 5, 4, 'USD', 1, 'p', 1, 1, 0, NULL, 1, 1, 1, 0, 0, 1",
            "4, 'charge', 9, 5, 4, 'USD', 1, 'p', 1, 2, 0, 0, 1, 1, 1, 0, 0, 1",
            "4, 'charge', 9, 5, 4, 'USD', 1, NULL, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1",
            "4, 'charge', 9, 5, 4, NULL, NULL, NULL, 1, 1, 0, 0, 1, NULL, NULL, NULL, NULL, NULL",
        ];
        foreach (var values in refused)
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync(
                $"{columns} VALUES ({values}, 't', now(), 'bad', 'm', 1000, 49, 0, 951)"));
            Assert.Equal(PostgresErrorCodes.CheckViolation, error.SqlState);
        }

        await database.ExecuteAsync($"{columns} VALUES (4, 'charge', 9, 5, 4, 'USD', 1, 'p', 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 't', now(), 'good', 'm', 1000, 49, 0, 951)");
        await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("UPDATE tokengrid_ledger SET prompt_tenant_micros = 0 WHERE sequence = 4"));
        await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("DELETE FROM tokengrid_charge_lines_separate"));
    }

    [Fact]
    public async Task A_silo_of_the_release_before_migration_15_still_writes_its_priced_charges_after_it()
    {
        // A rolling update migrates while old silos serve, and a rollback runs them on the migrated database: their save
        // writes a ledger line and its charge row in one statement, the charge row into tokengrid_charge_lines.
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: true);
        await database.ExecuteAsync("""
            WITH lines AS (
                INSERT INTO tokengrid_ledger (tenant_id, sequence, at, job_id, model, kind, tokens, quota, charged_after, reserved_after,
                                              balance_after, prompt_tokens, completion_tokens)
                VALUES ('t', 1, '2026-11-10T00:00:00Z', 'old', 'm', 'charge', 30, 1000, 30, 0, 970, 10, 20)
                RETURNING sequence, at, job_id, model
            ), charges AS (
                INSERT INTO tokengrid_charge_lines (tenant_id, sequence, at, job_id, model, currency, price_version, program_id, node_id,
                                                    silo, region, home_region, prompt_tokens, prompt_unit_price_micros, prompt_list_micros,
                                                    prompt_discount_micros, prompt_subsidy_micros, prompt_tenant_micros,
                                                    completion_tokens, completion_unit_price_micros, completion_list_micros,
                                                    completion_discount_micros, completion_subsidy_micros, completion_tenant_micros)
                SELECT 't', l.sequence, l.at, l.job_id, l.model, 'USD', 1, 'p', 'silo-a/cpu0', 'silo-a', 'north', 'west',
                       10, 100000000, 1000000, 0, 400000, 600000, 20, 100000000, 2000000, 0, 800000, 1200000
                FROM lines AS l
            )
            SELECT 1;
            """);

        Assert.Equal(1L, await database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_charge_lines_separate"));
        var lines = await database.QueryAsync("SELECT sequence, prompt_tokens, completion_tokens FROM tokengrid_charge_lines");
        Assert.Equal([(1L, (long?)10L, (long?)20L)], lines.Select(r => ((long)r[0], r[1] as long?, r[2] as long?)));
        Assert.Equal(1_800_000L, await database.ScalarAsync<long>("SELECT sum(tenant_micros)::bigint FROM tokengrid_charges"));
        await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("DELETE FROM tokengrid_charge_lines_separate"));
    }

    /// <summary>
    /// What the charge views give for the two charges the upgrade tests write: one old, priced both ways (prompt 10 and
    /// completion 20 tokens, 0.6 and 1.2 due, 1.56 paid by program p, demand region west), and one new, priced for its
    /// prompt only (5 tokens, 0.54 due): each counted once, per direction and in every view over them.
    /// </summary>
    private static async Task AssertTwoChargesCountedOnceAsync(PostgresTestDatabase database)
    {
        var rows = await database.QueryAsync("SELECT sequence, direction, tokens, tenant_micros FROM tokengrid_charges ORDER BY sequence, direction");
        Assert.Equal(
            [(1L, "completion", 20L, 1_200_000L), (1L, "prompt", 10L, 600_000L), (2L, "prompt", 5L, 540_000L)],
            rows.Select(r => ((long)r[0], (string)r[1], (long)r[2], (long)r[3])));
        Assert.Equal(2_340_000L, await database.ScalarAsync<long>(
            "SELECT amount_due_micros FROM tokengrid_statement_totals WHERE tenant_id = 't' AND period = '2026-11'"));
        Assert.Equal(1_560_000L, await database.ScalarAsync<long>("SELECT sum(subsidy_micros)::bigint FROM tokengrid_program_spend_daily"));
        Assert.Equal(35L, await database.ScalarAsync<long>(
            "SELECT sum(prompt_tokens + completion_tokens)::bigint FROM tokengrid_flows_daily WHERE demand_region = 'west'"));
        Assert.Equal(2_340_000L, await database.ScalarAsync<long>("SELECT sum(amount_due_micros)::bigint FROM tokengrid_usage_money_daily"));
    }

    [Fact]
    public async Task Concurrent_runs_apply_each_migration_once()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => new MigrationRunner().MigrateAsync(database.ConnectionString))));

        Assert.Equal(Migration.All.Count, runs.Sum(r => r.Applied.Count));
        Assert.Equal(Migration.All.Count, await database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_schema_migrations"));
    }

    [Fact]
    public async Task A_changed_applied_migration_is_an_error_and_new_ones_apply_after_the_old()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var runner = new MigrationRunner();
        var original = Migration.Parse("0001_first.sql", "CREATE TABLE first_table (id int);");
        await runner.MigrateAsync(database.ConnectionString, [original]);

        var next = Migration.Parse("0002_second.sql", "CREATE TABLE second_table (id int);");
        var result = await runner.MigrateAsync(database.ConnectionString, [original, next]);
        Assert.Equal([2], result.Applied.Select(m => m.Version));

        var edited = Migration.Parse("0001_first.sql", "CREATE TABLE first_table (id bigint);");
        var error = await Assert.ThrowsAsync<SchemaMigrationException>(() => runner.MigrateAsync(database.ConnectionString, [edited, next]));
        Assert.Contains("0001_first", error.Message);
    }

    [Fact]
    public async Task Ledger_directions_apply_over_charges_written_before_them_and_hold_for_every_charge_after()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var runner = new MigrationRunner();
        var before = Migration.All.TakeWhile(m => m.Name != "tokengrid_ledger_directions").ToList();
        await runner.MigrateAsync(database.ConnectionString, before);
        const string columns = "INSERT INTO tokengrid_ledger (tenant_id, sequence, at, job_id, model, kind, tokens, quota, charged_after, reserved_after, balance_after";
        await database.ExecuteAsync($"{columns}) VALUES ('t1', 1, now(), 'a', 'demo', 'charge', 30, 100, 30, 0, 70)");

        var applied = await runner.MigrateAsync(database.ConnectionString);

        Assert.Equal("tokengrid_ledger_directions", applied.Applied[0].Name);
        var old = (await database.QueryAsync("SELECT prompt_tokens, completion_tokens FROM tokengrid_ledger WHERE sequence = 1")).Single();
        Assert.Equal((0L, 0L), ((long)old[0], (long)old[1]));
        var unsplit = await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync(
            $"{columns}) VALUES ('t1', 2, now(), 'b', 'demo', 'charge', 30, 100, 60, 0, 40)"));
        Assert.Equal("tokengrid_ledger_directions_add_up", unsplit.ConstraintName);
        await database.ExecuteAsync($"{columns}, prompt_tokens, completion_tokens) VALUES ('t1', 2, now(), 'b', 'demo', 'charge', 30, 100, 60, 0, 40, 12, 18)");
        var daily = (await database.QueryAsync("SELECT charged_tokens, charged_prompt_tokens, charged_completion_tokens FROM tokengrid_usage_daily_by_tenant")).Single();
        Assert.Equal((60L, 12L, 18L), ((long)daily[0], (long)daily[1], (long)daily[2]));
    }

    [Fact]
    public async Task A_failing_migration_leaves_nothing_behind()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var broken = Migration.Parse("0001_broken.sql", "CREATE TABLE half_done (id int); SELECT no_such_function();");

        await Assert.ThrowsAsync<PostgresException>(() => new MigrationRunner().MigrateAsync(database.ConnectionString, [broken]));
        Assert.Equal(0L, await database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_schema_migrations"));
        Assert.Equal(0L, await database.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'"));
    }

    [Fact]
    public async Task A_migration_runs_longer_than_the_connections_command_timeout()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var slow = Migration.Parse("0001_slow.sql", "CREATE TABLE slow_done (id int); SELECT pg_sleep(2);");
        var shortTimeout = new NpgsqlConnectionStringBuilder(database.ConnectionString) { CommandTimeout = 1 }.ConnectionString;

        await new MigrationRunner().MigrateAsync(shortTimeout, [slow]);

        Assert.Equal(1L, await database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_schema_migrations"));
    }

    [Fact]
    public async Task A_migration_waiting_for_a_ledger_lock_gives_way_to_tenant_saves_and_applies_once_the_reader_ends()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();

        // A long report over the ledger: its transaction holds the table until it ends.
        await using var reader = new NpgsqlConnection(database.ConnectionString);
        await reader.OpenAsync();
        await using var report = await reader.BeginTransactionAsync();
        await using (var read = new NpgsqlCommand("SELECT count(*) FROM tokengrid_ledger", reader, report))
        {
            await read.ExecuteScalarAsync();
        }

        var alter = Migration.Parse("0099_alter_ledger.sql", "ALTER TABLE tokengrid_ledger ADD COLUMN probe integer;");
        var runner = new MigrationRunner { LockTimeout = TimeSpan.FromMilliseconds(500) };
        var migrating = runner.MigrateAsync(database.ConnectionString, [.. Migration.All, alter]);
        await LockWaitAsync(database, "ALTER TABLE tokengrid_ledger%");

        // A tenant's save (ledger lines) goes through within its timeout rather than queueing until the report ends.
        var saving = new NpgsqlConnectionStringBuilder(database.ConnectionString) { CommandTimeout = 5 }.ConnectionString;
        await using var dataSource = NpgsqlDataSource.Create(saving);
        var store = new PostgresTenantStore(dataSource, PostgresTenantStoreTests.Serializer);
        var line = new LedgerEntry(1, DateTimeOffset.UtcNow, "t1", "j1", "demo", LedgerEntryKind.Reserve, 10, 100, 0, 10, 90);
        var saved = await store.SaveAsync(new TenantSave("t1", new TenantState { LastSequence = 1 }, 0, [line], ["j1"]));
        Assert.True(saved.Saved);
        Assert.False(migrating.IsCompleted);

        await report.CommitAsync();
        var result = await migrating;
        Assert.Equal([99], result.Applied.Select(m => m.Version));
        Assert.Equal(1L, await database.ScalarAsync<long>("SELECT count(*) FROM information_schema.columns WHERE table_name = 'tokengrid_ledger' AND column_name = 'probe'"));
    }

    /// <summary>Returns once a statement matching <paramref name="query"/> waits for a lock (polled: PostgreSQL sends no signal).</summary>
    private static async Task LockWaitAsync(PostgresTestDatabase database, string query)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await database.ScalarAsync<long>(
            $"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '{query}'") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"No statement like '{query}' waited for a lock.");
            await Task.Delay(20);
        }
    }
}
