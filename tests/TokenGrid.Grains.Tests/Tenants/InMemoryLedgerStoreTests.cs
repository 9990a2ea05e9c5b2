using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Tenants;

public sealed class InMemoryLedgerStoreTests
{
    private static LedgerEntry Entry(long sequence) =>
        new(sequence, DateTimeOffset.UnixEpoch, "t", $"job-{sequence}", "m", LedgerEntryKind.Reserve, 1, 100, 0, sequence, 100 - sequence);

    [Fact]
    public async Task Replayed_entries_are_stored_once_and_pages_follow_sequence()
    {
        var store = new InMemoryLedgerStore();
        await store.AppendAsync("t", [Entry(1), Entry(2), Entry(3)]);
        await store.AppendAsync("t", [Entry(2), Entry(3), Entry(4), Entry(5)]);

        var first = await store.ReadAsync("t", 0, 2);
        Assert.Equal([1L, 2L], first.Entries.Select(e => e.Sequence));
        Assert.Equal(2, first.NextAfter);

        var last = await store.ReadAsync("t", 3, 2);
        Assert.Equal([4L, 5L], last.Entries.Select(e => e.Sequence));
        Assert.Null(last.NextAfter);

        Assert.Empty((await store.ReadAsync("t", 5, 10)).Entries);
        Assert.Empty((await store.ReadAsync("other", 0, 10)).Entries);
    }
}
