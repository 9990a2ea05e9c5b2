using Npgsql;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>The read side of the ledger and job index; lines and job ids are written as the tenant store saves them.</summary>
public sealed class PostgresLedgerStoreTests : IAsyncLifetime
{
    private readonly Dictionary<string, StoredTenant> _tenants = [];
    private PostgresTestDatabase _database = null!;
    private NpgsqlDataSource _dataSource = null!;
    private PostgresTenantStore _tenantStore = null!;

    public async Task InitializeAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync();
        _dataSource = NpgsqlDataSource.Create(_database.ConnectionString);
        _tenantStore = new PostgresTenantStore(_dataSource, PostgresTenantStoreTests.Serializer);
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await _database.DisposeAsync();
    }

    /// <summary>A line of 10 tokens; a charge's are 4 of the prompt and 6 of the completion.</summary>
    private static LedgerEntry Entry(string tenant, long sequence, LedgerEntryKind kind = LedgerEntryKind.Reserve, string? job = null) =>
        new(sequence, new DateTimeOffset(2026, 11, 24, 23, 59, 0, TimeSpan.Zero).AddMinutes(sequence), tenant, job ?? $"job-{sequence}", "demo",
            kind, 10, 1000, 0, 10 * sequence, 1000 - 10 * sequence,
            PromptTokens: kind == LedgerEntryKind.Charge ? 4 : 0, CompletionTokens: kind == LedgerEntryKind.Charge ? 6 : 0);

    /// <summary>Saves <paramref name="lines"/> and <paramref name="jobIds"/> as the tenant's next save.</summary>
    private async Task SaveAsync(string tenantId, IReadOnlyList<LedgerEntry> lines, IReadOnlyList<string>? jobIds = null)
    {
        var (state, version) = _tenants.GetValueOrDefault(tenantId) ?? new StoredTenant(new TenantState(), 0);
        if (lines.Count > 0)
        {
            state.LastSequence = lines[^1].Sequence;
        }

        var saved = await _tenantStore.SaveAsync(new TenantSave(tenantId, state, version, lines, jobIds ?? []));
        Assert.True(saved.Saved);
        _tenants[tenantId] = new StoredTenant(state, saved.Version);
    }

    [Fact]
    public async Task Saved_lines_page_in_sequence()
    {
        var store = new PostgresLedgerStore(_dataSource);
        await SaveAsync("t1", [Entry("t1", 1), Entry("t1", 2), Entry("t1", 3)]);
        await SaveAsync("t1", [Entry("t1", 4), Entry("t1", 5)]);
        await SaveAsync("t2", [Entry("t2", 1)]);
        await SaveAsync("t1", []);

        var first = await store.ReadAsync("t1", 0, 2);
        Assert.Equal([1L, 2L], first.Entries.Select(e => e.Sequence));
        Assert.Equal(2, first.NextAfter);
        Assert.Equal(Entry("t1", 1), first.Entries[0]);

        var last = await store.ReadAsync("t1", 3, 2);
        Assert.Equal([4L, 5L], last.Entries.Select(e => e.Sequence));
        Assert.Null(last.NextAfter);

        Assert.Empty((await store.ReadAsync("t1", 5, 10)).Entries);
        Assert.Empty((await store.ReadAsync("nobody", 0, 10)).Entries);
        Assert.Equal(5L, await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_ledger WHERE tenant_id = 't1'"));
    }

    [Fact]
    public async Task A_jobs_lines_are_found_and_the_views_sum_them_per_day()
    {
        var store = new PostgresLedgerStore(_dataSource);
        await SaveAsync("t1", [
            Entry("t1", 1, LedgerEntryKind.Reserve, "a"), Entry("t1", 2, LedgerEntryKind.Reserve, "b"),
            Entry("t1", 3, LedgerEntryKind.Charge, "a"), Entry("t1", 4, LedgerEntryKind.Refund, "a"),
        ]);

        var job = await store.FindJobAsync("t1", "a");
        Assert.Equal([LedgerEntryKind.Reserve, LedgerEntryKind.Charge, LedgerEntryKind.Refund], job.Select(e => e.Kind));
        Assert.Equal(Entry("t1", 3, LedgerEntryKind.Charge, "a"), job[1]);
        Assert.Empty(await store.FindJobAsync("t1", "none"));

        // Line n is at 23:59 + n minutes on the 24th: all four fall on the 25th (UTC).
        var daily = await _database.QueryAsync(
            "SELECT day::text, requests, reserved_tokens, charged_tokens, refunded_tokens, charged_prompt_tokens, charged_completion_tokens " +
            "FROM tokengrid_usage_daily WHERE tenant_id = 't1'");
        Assert.Equal(
            [("2026-11-25", 2L, 20L, 10L, 10L, 4L, 6L)],
            daily.Select(r => ((string)r[0], (long)r[1], (long)r[2], (long)r[3], (long)r[4], (long)r[5], (long)r[6])));
        foreach (var view in new[] { "tokengrid_usage_daily_by_tenant", "tokengrid_usage_daily_by_model" })
        {
            var directions = (await _database.QueryAsync($"SELECT charged_tokens, charged_prompt_tokens, charged_completion_tokens FROM {view}")).Single();
            Assert.Equal((10L, 4L, 6L), ((long)directions[0], (long)directions[1], (long)directions[2]));
        }

        var settlements = await _database.QueryAsync(
            "SELECT job_id, settled, charged_prompt_tokens, charged_completion_tokens FROM tokengrid_job_settlements ORDER BY job_id");
        Assert.Equal([("a", true, 4L, 6L), ("b", false, 0L, 0L)], settlements.Select(r => ((string)r[0], (bool)r[1], (long)r[2], (long)r[3])));
    }

    [Fact]
    public async Task Ledger_lines_cannot_be_changed_or_removed()
    {
        await SaveAsync("t1", [Entry("t1", 1)]);

        var update = await Assert.ThrowsAsync<PostgresException>(() => _database.ExecuteAsync("UPDATE tokengrid_ledger SET tokens = 0"));
        Assert.Contains("append-only", update.MessageText);
        await Assert.ThrowsAsync<PostgresException>(() => _database.ExecuteAsync("DELETE FROM tokengrid_ledger"));
        await Assert.ThrowsAsync<PostgresException>(() => _database.ExecuteAsync("TRUNCATE tokengrid_ledger"));
        Assert.Equal(1L, await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_ledger"));
    }

    [Fact]
    public async Task The_job_index_lists_newest_first_and_pages_before_a_job()
    {
        var index = new PostgresJobIndex(_dataSource);
        await SaveAsync("t1", [], ["j1", "j2"]);
        await SaveAsync("t1", [], ["j3", "j4"]);

        // A job id the tenant already has keeps its place; another tenant's is its own.
        await SaveAsync("t1", [], ["j2"]);
        await SaveAsync("t2", [], ["j2"]);

        Assert.Equal(["j4", "j3"], await index.ListAsync("t1", null, 2));
        Assert.Equal(["j2", "j1"], await index.ListAsync("t1", "j3", 10));
        Assert.Empty(await index.ListAsync("t1", "j1", 10));
        Assert.Empty(await index.ListAsync("t1", "unknown", 10));
        Assert.Equal(["j2"], await index.ListAsync("t2", null, 10));
        Assert.Equal(4L, await _database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_tenant_jobs WHERE tenant_id = 't1'"));
    }
}
