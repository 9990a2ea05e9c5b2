using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Ledger;

namespace TokenGrid.Grains.Tests.Tenants;

public sealed class InMemoryLedgerStoreTests
{
    /// <summary>A line of 1 token; a charge's is the completion's.</summary>
    private static LedgerEntry Entry(long sequence, LedgerEntryKind kind = LedgerEntryKind.Reserve, string? job = null) =>
        new(sequence, DateTimeOffset.UnixEpoch, "t", job ?? $"job-{sequence}", "m", kind, 1, 100, 0, sequence, 100 - sequence,
            CompletionTokens: kind == LedgerEntryKind.Charge ? 1 : 0);

    [Fact]
    public async Task Appended_lines_page_in_sequence()
    {
        var store = new InMemoryLedgerStore();
        store.Append("t", [Entry(1), Entry(2), Entry(3)]);
        store.Append("t", [Entry(4), Entry(5)]);
        store.Append("t", []);

        var first = await store.ReadAsync("t", 0, 2);
        Assert.Equal([1L, 2L], first.Entries.Select(e => e.Sequence));
        Assert.Equal(2, first.NextAfter);

        var last = await store.ReadAsync("t", 3, 2);
        Assert.Equal([4L, 5L], last.Entries.Select(e => e.Sequence));
        Assert.Null(last.NextAfter);

        Assert.Empty((await store.ReadAsync("t", 5, 10)).Entries);
        Assert.Empty((await store.ReadAsync("other", 0, 10)).Entries);
    }

    [Fact]
    public async Task A_line_that_does_not_follow_the_last_is_refused()
    {
        var store = new InMemoryLedgerStore();
        store.Append("t", [Entry(1), Entry(2), Entry(3)]);

        // A replay of stored lines is an error now: the tenant store writes each line once, with its state change.
        var replay = Assert.Throws<InvalidOperationException>(() => store.Append("t", [Entry(3), Entry(4)]));
        Assert.Contains("does not follow line 3", replay.Message);
        Assert.Throws<InvalidOperationException>(() => store.Append("t", [Entry(1)]));

        Assert.Equal([1L, 2L, 3L], (await store.ReadAsync("t", 0, 10)).Entries.Select(e => e.Sequence));
        store.Append("t", [Entry(4)]);
        Assert.Equal([1L, 2L, 3L, 4L], (await store.ReadAsync("t", 0, 10)).Entries.Select(e => e.Sequence));
    }

    [Fact]
    public async Task A_charge_records_at_most_its_prompt_tokens_as_cached_and_no_other_line_any()
    {
        var store = new InMemoryLedgerStore();
        var charge = Entry(1, LedgerEntryKind.Charge) with { Tokens = 10, PromptTokens = 8, CompletionTokens = 2 };

        store.Append("t", [charge with { CachedPromptTokens = 8 }]);
        Assert.Throws<InvalidOperationException>(() => store.Append("t", [charge with { Sequence = 2, CachedPromptTokens = 9 }]));
        Assert.Throws<InvalidOperationException>(() => store.Append("t", [Entry(2) with { CachedPromptTokens = 1 }]));
        Assert.Throws<InvalidOperationException>(() => store.Append("t", [charge with { Sequence = 2, CachedPromptTokens = -1 }]));

        Assert.Equal([8L], (await store.ReadAsync("t", 0, 10)).Entries.Select(e => e.CachedPromptTokens));
    }

    [Fact]
    public async Task Reserve_lines_are_remembered_per_tenant_and_a_jobs_lines_are_found()
    {
        var store = new InMemoryLedgerStore();
        store.Append("t", [Entry(1, job: "a"), Entry(2, LedgerEntryKind.Charge, "b"), Entry(3, LedgerEntryKind.Charge, "a")]);

        Assert.True(store.HasReserve("t", "a"));
        Assert.False(store.HasReserve("t", "b"));
        Assert.False(store.HasReserve("other", "a"));
        Assert.Equal([1L, 3L], (await store.FindJobAsync("t", "a")).Select(e => e.Sequence));
        Assert.Empty(await store.FindJobAsync("t", "none"));
    }

    [Fact]
    public async Task A_batch_with_a_line_whose_directions_do_not_add_up_is_refused_whole()
    {
        var store = new InMemoryLedgerStore();
        foreach (var wrong in new[]
        {
            Entry(2, LedgerEntryKind.Charge) with { CompletionTokens = 0 },
            Entry(2, LedgerEntryKind.Charge) with { PromptTokens = 2, CompletionTokens = -1 },
            Entry(2, LedgerEntryKind.Refund) with { PromptTokens = 1 },
        })
        {
            var refused = Assert.Throws<InvalidOperationException>(() => store.Append("t", [Entry(1), wrong]));
            Assert.Contains("prompt and completion", refused.Message);
        }

        Assert.Empty((await store.ReadAsync("t", 0, 10)).Entries);
        store.Append("t", [Entry(1), Entry(2, LedgerEntryKind.Charge) with { PromptTokens = 1, CompletionTokens = 0 }]);
        Assert.Equal(2, (await store.ReadAsync("t", 0, 10)).Entries.Count);
    }
}
