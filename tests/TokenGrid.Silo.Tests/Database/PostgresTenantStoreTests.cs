using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Serialization;
using Orleans.Storage;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Silo.Tests.Database;

public sealed class PostgresTenantStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 3, 14, 9, 26, 53, TimeSpan.Zero);

    private PostgresTestDatabase _database = null!;
    private NpgsqlDataSource _dataSource = null!;
    private PostgresTenantStore _store = null!;

    /// <summary>Orleans' serializer, which knows TokenGrid's contracts and the tenant state (as the silo's does).</summary>
    public static Serializer Serializer { get; } = new ServiceCollection()
        .AddSerializer(builder => builder.AddAssembly(typeof(TenantState).Assembly))
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    public async Task InitializeAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync();
        _dataSource = NpgsqlDataSource.Create(_database.ConnectionString);
        _store = new PostgresTenantStore(_dataSource, Serializer);
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await _database.DisposeAsync();
    }

    /// <summary>
    /// Tenant t1 after admitting a (50 tokens) and b (100), and settling a for 40: the four lines
    /// <see cref="FirstLines"/> lead here.
    /// </summary>
    private static TenantState FirstState() => new()
    {
        Info = new TenantInfo("t1", "Tenant one", new TenantBudget
        {
            PeriodQuota = 1_000,
            RequiredLabels = new Dictionary<string, string> { ["region"] = "west" },
        }, Enabled: true, Now, Now),
        Tokens = new TokenBucket { Whole = 99_860, Fraction = 12_345, UpdatedAt = Now },
        Requests = new TokenBucket { Whole = 598, UpdatedAt = Now },
        PeriodStart = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero),
        Charged = 40,
        Reserved = 100,
        Open = new(StringComparer.Ordinal) { ["b"] = new OpenReservation("b", "demo", 100, 20, Now) },
        Settled = [new Settlement("a", 50, 40, 10, AlreadySettled: false)],
        Models = new(StringComparer.Ordinal) { ["demo"] = new ModelTally { Requests = 2, PromptTokens = 30, CompletionTokens = 10 } },
        LastSequence = 4,
        Keys = [new StoredApiKey("hash-1", new ApiKeyInfo("key_1", "t1", "ci", "tg_abcd", Now, RevokedAt: null))],
    };

    private static LedgerEntry Line(long sequence, string jobId, LedgerEntryKind kind, long tokens, long charged, long reserved) =>
        new(sequence, Now, "t1", jobId, "demo", kind, tokens, 1_000, charged, reserved, 1_000 - charged - reserved);

    private static List<LedgerEntry> FirstLines() =>
    [
        Line(1, "a", LedgerEntryKind.Reserve, 50, 0, 50),
        Line(2, "b", LedgerEntryKind.Reserve, 100, 0, 150),
        Line(3, "a", LedgerEntryKind.Charge, 40, 40, 110) with { PromptTokens = 30, CompletionTokens = 10, CachedPromptTokens = 16 },
        Line(4, "a", LedgerEntryKind.Refund, 10, 40, 100),
    ];

    /// <summary>Saves <see cref="FirstState"/> with its lines and job ids as the tenant's first save (version 1).</summary>
    private async Task<TenantState> SaveFirstAsync()
    {
        var state = FirstState();
        var saved = await _store.SaveAsync(new TenantSave("t1", state, 0, FirstLines(), ["a", "b"]));
        Assert.Equal((true, 1L), (saved.Saved, saved.Version));
        return state;
    }

    /// <summary>The state row's version and snapshot, the number of ledger lines and the job ids, to show nothing moved.</summary>
    private async Task<(long Version, string Snapshot, long Lines, string Jobs)> StoredAsync()
    {
        var row = (await _database.QueryAsync("SELECT version, encode(snapshot, 'hex') FROM tokengrid_tenants WHERE tenant_id = 't1'")).Single();
        var lines = await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_ledger WHERE tenant_id = 't1'");
        var jobs = await _database.ScalarAsync<string>(
            "SELECT coalesce(string_agg(job_id, ',' ORDER BY position), '') FROM tokengrid_tenant_jobs WHERE tenant_id = 't1'");
        return ((long)row[0], (string)row[1], lines, jobs);
    }

    private static void AssertSameState(TenantState expected, TenantState actual)
    {
        Assert.Equal(expected.Info, actual.Info);
        Assert.Equal((expected.Tokens.Whole, expected.Tokens.Fraction, expected.Tokens.UpdatedAt), (actual.Tokens.Whole, actual.Tokens.Fraction, actual.Tokens.UpdatedAt));
        Assert.Equal((expected.Requests.Whole, expected.Requests.Fraction, expected.Requests.UpdatedAt), (actual.Requests.Whole, actual.Requests.Fraction, actual.Requests.UpdatedAt));
        Assert.Equal(
            (expected.PeriodStart, expected.Charged, expected.Reserved, expected.LastSequence),
            (actual.PeriodStart, actual.Charged, actual.Reserved, actual.LastSequence));
        Assert.Equal(expected.Open, actual.Open);
        Assert.Equal(expected.Settled, actual.Settled);
        Assert.Equal(
            expected.Models.Select(m => (m.Key, m.Value.Requests, m.Value.PromptTokens, m.Value.CompletionTokens)),
            actual.Models.Select(m => (m.Key, m.Value.Requests, m.Value.PromptTokens, m.Value.CompletionTokens)));
        Assert.Equal(expected.Keys, actual.Keys);
        Assert.Empty(actual.UnsavedLines);
    }

    [Fact]
    public async Task A_saved_state_loads_back_equal_with_its_version_and_its_lines_and_job_ids()
    {
        Assert.Null(await _store.LoadAsync("t1"));
        var state = await SaveFirstAsync();

        var loaded = await _store.LoadAsync("t1");
        Assert.NotNull(loaded);
        Assert.Equal(1, loaded.Version);
        AssertSameState(state, loaded.State);
        Assert.Equal(
            [(1L, 4L, 40L, 100L)],
            (await _database.QueryAsync("SELECT version, last_sequence, charged, reserved FROM tokengrid_tenants")).Select(r => ((long)r[0], (long)r[1], (long)r[2], (long)r[3])));
        Assert.Equal(FirstLines(), (await new PostgresLedgerStore(_dataSource).ReadAsync("t1", 0, 10)).Entries);
        Assert.Equal(["b", "a"], await new PostgresJobIndex(_dataSource).ListAsync("t1", null, 10));

        // The next save continues at version 1: b settles for 60.
        var next = loaded.State;
        next.Open.Clear();
        next.Charged = 100;
        next.Reserved = 0;
        next.Settled.Add(new Settlement("b", 100, 60, 40, AlreadySettled: false));
        next.LastSequence = 6;
        var saved = await _store.SaveAsync(new TenantSave("t1", next, 1,
            [Line(5, "b", LedgerEntryKind.Charge, 60, 100, 40) with { PromptTokens = 20, CompletionTokens = 40 }, Line(6, "b", LedgerEntryKind.Refund, 40, 100, 0)], []));

        Assert.True(saved.Saved);
        Assert.Equal(2, saved.Version);
        var reloaded = await _store.LoadAsync("t1");
        Assert.Equal(2, reloaded!.Version);
        AssertSameState(next, reloaded.State);
        Assert.Equal(
            [(2L, 6L, 100L, 0L)],
            (await _database.QueryAsync("SELECT version, last_sequence, charged, reserved FROM tokengrid_tenants")).Select(r => ((long)r[0], (long)r[1], (long)r[2], (long)r[3])));
        Assert.Equal(6L, await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_ledger"));
    }

    [Fact]
    public async Task A_save_naming_a_stale_version_is_refused_and_writes_nothing()
    {
        var state = await SaveFirstAsync();
        state.Open["c"] = new OpenReservation("c", "demo", 10, 5, Now);
        state.Reserved = 110;
        state.LastSequence = 5;
        var saved = await _store.SaveAsync(new TenantSave("t1", state, 1, [Line(5, "c", LedgerEntryKind.Reserve, 10, 40, 110)], ["c"]));
        Assert.Equal(2, saved.Version);
        var before = await StoredAsync();

        // Another activation that read version 1 tries to save its own line 5, and one that read a version never saved.
        var stale = new TenantSave("t1", state, 1, [Line(5, "d", LedgerEntryKind.Reserve, 10, 40, 110)], ["d"]);
        await Assert.ThrowsAsync<InconsistentStateException>(() => _store.SaveAsync(stale));
        await Assert.ThrowsAsync<InconsistentStateException>(() => _store.SaveAsync(stale with { ExpectedVersion = 7 }));

        Assert.Equal(before, await StoredAsync());
        Assert.Equal((2L, 5L, "a,b,c"), (before.Version, before.Lines, before.Jobs));
        Assert.Empty(await new PostgresLedgerStore(_dataSource).FindJobAsync("t1", "d"));
    }

    [Fact]
    public async Task A_first_save_for_a_tenant_that_was_already_saved_is_refused()
    {
        await SaveFirstAsync();
        var before = await StoredAsync();

        var second = FirstState();
        second.Charged = 0;
        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            _store.SaveAsync(new TenantSave("t1", second, 0, [Line(5, "e", LedgerEntryKind.Reserve, 10, 40, 110)], ["e"])));

        Assert.Equal(before, await StoredAsync());
        Assert.Equal(40, (await _store.LoadAsync("t1"))!.State.Charged);

        // Nor does a later version create a tenant that was never saved.
        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            _store.SaveAsync(new TenantSave("t2", new TenantState(), 3, [], ["x"])));
        Assert.Null(await _store.LoadAsync("t2"));
        Assert.Empty(await new PostgresJobIndex(_dataSource).ListAsync("t2", null, 10));
    }

    [Fact]
    public async Task A_save_that_reserves_again_for_a_reserved_job_returns_that_job_and_stores_nothing()
    {
        var state = await SaveFirstAsync();
        var before = await StoredAsync();

        state.Open["a"] = new OpenReservation("a", "demo", 10, 5, Now);
        state.Open["c"] = new OpenReservation("c", "demo", 10, 5, Now);
        state.Reserved = 120;
        state.LastSequence = 6;
        var lines = new List<LedgerEntry> { Line(5, "c", LedgerEntryKind.Reserve, 10, 40, 110), Line(6, "a", LedgerEntryKind.Reserve, 10, 40, 120) };
        var refused = await _store.SaveAsync(new TenantSave("t1", state, 1, lines, ["c", "a"]));

        Assert.False(refused.Saved);
        Assert.Equal(["a"], refused.AlreadyReserved);
        Assert.Equal(1, refused.Version);
        Assert.Equal(before, await StoredAsync());
        Assert.Equal(1, (await _store.LoadAsync("t1"))!.Version);

        // The same batch without the second reservation goes through.
        state.Open.Remove("a");
        state.Reserved = 110;
        state.LastSequence = 5;
        var saved = await _store.SaveAsync(new TenantSave("t1", state, 1, [lines[0]], ["c"]));
        Assert.Equal((true, 2L), (saved.Saved, saved.Version));
        var after = await StoredAsync();
        Assert.Equal((2L, 5L, "a,b,c"), (after.Version, after.Lines, after.Jobs));
    }

    [Fact]
    public async Task A_save_whose_line_breaks_a_ledger_rule_stores_nothing_at_all()
    {
        var state = await SaveFirstAsync();
        var before = await StoredAsync();

        // Line 5's balance is not quota − charged − reserved: the CHECK fails, and the state and job id go with it.
        state.Open["c"] = new OpenReservation("c", "demo", 10, 5, Now);
        state.Reserved = 110;
        state.LastSequence = 5;
        var broken = Line(5, "c", LedgerEntryKind.Reserve, 10, 40, 110) with { BalanceAfter = 999 };
        var check = await Assert.ThrowsAsync<PostgresException>(() => _store.SaveAsync(new TenantSave("t1", state, 1, [broken], ["c"])));
        Assert.Equal(PostgresErrorCodes.CheckViolation, check.SqlState);

        // A charge whose prompt and completion tokens do not add up to it, or a refund claiming a direction, fails its CHECK.
        state.LastSequence = 5;
        foreach (var wrong in new[]
        {
            Line(5, "b", LedgerEntryKind.Charge, 60, 100, 40) with { PromptTokens = 20, CompletionTokens = 30 },
            Line(5, "b", LedgerEntryKind.Refund, 40, 40, 60) with { PromptTokens = 40 },
        })
        {
            var directions = await Assert.ThrowsAsync<PostgresException>(() => _store.SaveAsync(new TenantSave("t1", state, 1, [wrong], [])));
            Assert.Equal((PostgresErrorCodes.CheckViolation, "tokengrid_ledger_directions_add_up"), (directions.SqlState, directions.ConstraintName));
        }

        // A charge claiming more cached prompt tokens than prompt tokens fails its CHECK.
        var overCached = Line(5, "b", LedgerEntryKind.Charge, 60, 100, 40) with { PromptTokens = 20, CompletionTokens = 40, CachedPromptTokens = 21 };
        var cached = await Assert.ThrowsAsync<PostgresException>(() => _store.SaveAsync(new TenantSave("t1", state, 1, [overCached], [])));
        Assert.Equal((PostgresErrorCodes.CheckViolation, "tokengrid_ledger_cached_within_prompt"), (cached.SqlState, cached.ConstraintName));

        // A priced charge keeps its price in its line's row (migration 0015): its amounts must add up, and it may only
        // price the tokens its line records, once per direction.
        var charge = Line(5, "b", LedgerEntryKind.Charge, 60, 100, 40) with { PromptTokens = 20, CompletionTokens = 40 };
        PricedCharge Priced(long promptTokens, Money promptTenant) => new(1, "USD", null, new CreationPlace("silo-a/cpu0", "silo-a", "west"), "west",
        [
            new PricedLine(TokenDirection.Prompt, promptTokens, new Money(1_000_000), new Money(20), Money.Zero, Money.Zero, promptTenant),
            new PricedLine(TokenDirection.Completion, 40, new Money(1_000_000), new Money(40), Money.Zero, Money.Zero, new Money(40)),
        ]);
        var unbalanced = await Assert.ThrowsAsync<PostgresException>(() =>
            _store.SaveAsync(new TenantSave("t1", state, 1, [charge with { Priced = Priced(20, new Money(19)) }], [])));
        Assert.Equal((PostgresErrorCodes.CheckViolation, "tokengrid_ledger_priced_prompt"), (unbalanced.SqlState, unbalanced.ConstraintName));
        var other = await Assert.ThrowsAsync<ArgumentException>(() =>
            _store.SaveAsync(new TenantSave("t1", state, 1, [charge with { Priced = Priced(21, new Money(20)) }], [])));
        Assert.Contains("prices 21 Prompt tokens but records 20", other.Message);

        // Two reservations for one job in one save break the one-reserve-per-job index.
        state.LastSequence = 6;
        var twice = new List<LedgerEntry> { Line(5, "c", LedgerEntryKind.Reserve, 10, 40, 110), Line(6, "c", LedgerEntryKind.Reserve, 10, 40, 120) };
        var unique = await Assert.ThrowsAsync<PostgresException>(() => _store.SaveAsync(new TenantSave("t1", state, 1, twice, ["c"])));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, unique.SqlState);

        Assert.Equal(before, await StoredAsync());
        var loaded = await _store.LoadAsync("t1");
        Assert.Equal(1, loaded!.Version);
        AssertSameState(FirstState(), loaded.State);

        // A first save breaking the rule creates no row.
        await Assert.ThrowsAsync<PostgresException>(() =>
            _store.SaveAsync(new TenantSave("t2", new TenantState { LastSequence = 1 }, 0, [broken with { TenantId = "t2", Sequence = 1 }], ["c"])));
        Assert.Null(await _store.LoadAsync("t2"));
        Assert.Equal(0L, await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_tenant_jobs WHERE tenant_id = 't2'"));
    }
}
