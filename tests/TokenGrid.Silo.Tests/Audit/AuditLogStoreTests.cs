using Npgsql;
using TokenGrid.Grains.Audit;
using TokenGrid.Silo.Tests.Database;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Silo.Tests.Audit;

public sealed class InMemoryAuditLogTests : AuditLogStoreSuite
{
    protected override IAuditLog Log { get; } = new InMemoryAuditLog();
}

/// <summary>The PostgreSQL log on a fresh database; also that the table refuses every change of what it holds.</summary>
public sealed class PostgresAuditLogTests : AuditLogStoreSuite, IAsyncLifetime
{
    private PostgresTestDatabase _database = null!;
    private NpgsqlDataSource _dataSource = null!;
    private PostgresAuditLog? _log;

    protected override IAuditLog Log => _log!;

    public async Task InitializeAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync();
        _dataSource = NpgsqlDataSource.Create(_database.ConnectionString);
        _log = new PostgresAuditLog(_dataSource);
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task The_table_refuses_update_delete_and_truncate_and_chosen_sequences()
    {
        await Log.AppendAsync(Change("tenant.create", "t1", null, """{"id":"t1"}"""));

        foreach (var statement in new[]
        {
            "UPDATE tokengrid_audit_log SET actor = 'someone-else'",
            "DELETE FROM tokengrid_audit_log",
            "TRUNCATE tokengrid_audit_log",
        })
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => _database.ExecuteAsync(statement));
            Assert.Contains("append-only", refused.MessageText);
        }

        await Assert.ThrowsAsync<PostgresException>(() => _database.ExecuteAsync(
            "INSERT INTO tokengrid_audit_log (sequence, at, actor, action, target) VALUES (99, now(), 'a', 'tenant.create', 't')"));
        var entry = Assert.Single((await Log.ReadAsync(new AuditQuery(0, 10))).Entries);
        Assert.Equal("admin:0123456789ab", entry.Change.Actor);
    }

    [Fact]
    public async Task Concurrent_appends_get_distinct_sequences_in_commit_order()
    {
        var appended = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => Log.AppendAsync(Change("node.drain", $"n{i}", "{}", "{}")))));

        var read = (await Log.ReadAsync(new AuditQuery(0, 100))).Entries;
        Assert.Equal(appended.Select(e => e.Sequence).Order(), read.Select(e => e.Sequence));
        Assert.Equal(16, read.Select(e => e.Change.Target).Distinct().Count());
    }
}

/// <summary>What every <see cref="IAuditLog"/> does: numbering, documents kept as written, pages and filters.</summary>
public abstract class AuditLogStoreSuite
{
    private static readonly DateTimeOffset s_at = new(2026, 12, 3, 8, 0, 0, TimeSpan.Zero);

    protected abstract IAuditLog Log { get; }

    [Fact]
    public async Task Entries_are_numbered_in_order_and_read_back_as_appended()
    {
        var first = await Log.AppendAsync(Change("tenant.create", "t1", null, """{"id":"t1","budget":{"period_quota":10},"name":"Ünïcode ✓"}"""));
        var second = await Log.AppendAsync(Change("tenant.delete", "t1", """{"id":"t1"}""", null));

        Assert.True(second.Sequence > first.Sequence && first.Sequence > 0);
        var page = await Log.ReadAsync(new AuditQuery(0, 10));
        Assert.Null(page.NextAfter);
        Assert.Equal([first, second], page.Entries);
        Assert.Equal(s_at, page.Entries[0].Change.At);
        Assert.Equal("""{"id":"t1","budget":{"period_quota":10},"name":"Ünïcode ✓"}""", page.Entries[0].Change.After);
        Assert.Null(page.Entries[0].Change.Before);
    }

    [Fact]
    public async Task Pages_and_filters_select_oldest_first_after_a_sequence()
    {
        var appended = new List<AuditEntry>();
        foreach (var (action, target) in new[] { ("tenant.create", "a"), ("tenant.update", "a"), ("tenant.create", "b"), ("tenant.update", "a"), ("tenant.update", "b") })
        {
            appended.Add(await Log.AppendAsync(Change(action, target, "{}", "{}")));
        }

        var first = await Log.ReadAsync(new AuditQuery(0, 2));
        Assert.Equal(appended[..2], first.Entries);
        Assert.Equal(appended[1].Sequence, first.NextAfter);
        var rest = await Log.ReadAsync(new AuditQuery(first.NextAfter!.Value, 3));
        Assert.Equal(appended[2..], rest.Entries);
        Assert.Null(rest.NextAfter);

        var updatesOfA = await Log.ReadAsync(new AuditQuery(0, 10, "tenant.update", "a"));
        Assert.Equal([appended[1], appended[3]], updatesOfA.Entries);
        var ofB = await Log.ReadAsync(new AuditQuery(0, 1, Target: "b"));
        Assert.Equal([appended[2]], ofB.Entries);
        Assert.Equal(appended[2].Sequence, ofB.NextAfter);
        Assert.Equal([appended[4]], (await Log.ReadAsync(new AuditQuery(ofB.NextAfter!.Value, 1, Target: "b"))).Entries);
        Assert.Equal([appended[0], appended[2]], (await Log.ReadAsync(new AuditQuery(0, 10, Action: "tenant.create"))).Entries);
        Assert.Empty((await Log.ReadAsync(new AuditQuery(appended[^1].Sequence, 10))).Entries);
    }

    protected static AuditChange Change(string action, string target, string? before, string? after) =>
        new(s_at, "admin:0123456789ab", action, target, before, after);
}
