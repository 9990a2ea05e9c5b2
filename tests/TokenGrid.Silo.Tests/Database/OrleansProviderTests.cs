using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Storage;
using TokenGrid.Grains;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>Orleans' ADO.NET grain storage and reminder table against TokenGrid's PostgreSQL queries, through a real silo.</summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class OrleansProviderTests(OrleansProviderTests.Silo fixture) : IClassFixture<OrleansProviderTests.Silo>
{
    private PostgresTestDatabase Database => fixture.Database;

    private TokenGridServer Server => fixture.Server;

    /// <summary>One silo on its own database for these tests.</summary>
    public sealed class Silo : IAsyncLifetime
    {
        public PostgresTestDatabase Database { get; private set; } = null!;

        public TokenGridServer Server { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Database = await PostgresTestDatabase.CreateAsync();
            Server = await TokenGridServer.StartAsync(PostgresSilo.Settings(Database.ConnectionString));
        }

        public async Task DisposeAsync()
        {
            await Server.DisposeAsync();
            await Database.DisposeAsync();
        }
    }

    [Fact]
    public async Task Grain_storage_rejects_a_stale_write()
    {
        var storage = Server.Services.GetRequiredKeyedService<IGrainStorage>(TokenGridStorage.Name);
        var grain = GrainId.Create("test", "stale-" + Guid.NewGuid().ToString("N"));

        var mine = new GrainState<List<int>> { State = [1] };
        await storage.WriteStateAsync("box", grain, mine);
        var theirs = new GrainState<List<int>>();
        await storage.ReadStateAsync("box", grain, theirs);
        Assert.Equal([1], theirs.State);
        theirs.State!.Add(2);
        await storage.WriteStateAsync("box", grain, theirs);

        mine.State.Add(3);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("box", grain, mine));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("box", grain, new GrainState<List<int>> { State = [] }));

        await storage.ClearStateAsync("box", grain, theirs);
        var cleared = new GrainState<List<int>>();
        await storage.ReadStateAsync("box", grain, cleared);
        Assert.False(cleared.RecordExists);
        Assert.Empty(cleared.State!);
        Assert.Equal(1L, await Database.ScalarAsync<long>("SELECT count(*) FROM orleans_grain_state WHERE state_name = 'box' AND payload IS NULL"));
    }

    [Fact]
    public async Task Grain_storage_versions_wrap_around_instead_of_overflowing()
    {
        var storage = Server.Services.GetRequiredKeyedService<IGrainStorage>(TokenGridStorage.Name);
        var key = "busy-" + Guid.NewGuid().ToString("N");
        var grain = GrainId.Create("test", key);
        await storage.WriteStateAsync("box", grain, new GrainState<List<int>> { State = [1] });

        // A state written 2^31 - 1 times.
        await Database.ExecuteAsync($"UPDATE orleans_grain_state SET version = 2147483647 WHERE state_name = 'box' AND grain_key LIKE '%{key}%'");
        var busy = new GrainState<List<int>>();
        await storage.ReadStateAsync("box", grain, busy);
        Assert.Equal("2147483647", busy.ETag);

        busy.State!.Add(2);
        await storage.WriteStateAsync("box", grain, busy);
        Assert.Equal("1", busy.ETag);
        await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteStateAsync("box", grain, new GrainState<List<int>> { State = [], ETag = "2147483647" }));

        var read = new GrainState<List<int>>();
        await storage.ReadStateAsync("box", grain, read);
        Assert.Equal([1, 2], read.State);
        Assert.Equal("1", read.ETag);
    }

    [Fact]
    public async Task Reminders_are_upserted_read_by_range_and_removed_by_etag()
    {
        var table = Server.Services.GetRequiredService<IReminderTable>();
        var grain = GrainId.Create("test", "reminded-" + Guid.NewGuid().ToString("N"));
        var start = new DateTime(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc);
        var first = await table.UpsertRow(new ReminderEntry { GrainId = grain, ReminderName = "tick", StartAt = start, Period = TimeSpan.FromMinutes(1) });
        var second = await table.UpsertRow(new ReminderEntry { GrainId = grain, ReminderName = "tick", StartAt = start, Period = TimeSpan.FromDays(40) });
        Assert.NotEqual(first, second);

        var read = await table.ReadRow(grain, "tick");
        Assert.Equal((start, TimeSpan.FromDays(40), second), (read!.StartAt, read.Period, read.ETag));
        Assert.Single((await table.ReadRows(grain)).Reminders);

        // The whole ring, as a wrapping range and as two halves: the reminder is in exactly one half.
        var hash = grain.GetUniformHashCode();
        Assert.Single((await table.ReadRows(hash, hash)).Reminders);
        var halves = (await table.ReadRows(0u, 0x8000_0000u)).Reminders.Count + (await table.ReadRows(0x8000_0000u, 0u)).Reminders.Count;
        Assert.Equal(1, halves);

        Assert.False(await table.RemoveRow(grain, "tick", first!));
        Assert.True(await table.RemoveRow(grain, "tick", second!));
        Assert.Null(await table.ReadRow(grain, "tick"));
    }
}
