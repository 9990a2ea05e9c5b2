using TokenGrid.Abstractions.Billing;
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

    /// <summary>
    /// Lines are kept as bytes: every field of every line comes back as it went in, over several chunks, with null and
    /// non-null optional parts, negative and extreme numbers, offsets other than UTC and job ids outside ASCII.
    /// </summary>
    [Fact]
    public async Task Every_field_of_a_line_comes_back_as_it_was_appended()
    {
        var random = new Random(17);
        var store = new InMemoryLedgerStore();
        var appended = new List<LedgerEntry>();
        long Number() => random.Next(6) switch
        {
            0 => 0,
            1 => long.MaxValue,
            2 => long.MinValue,
            3 => -random.NextInt64(1, 1L << 40),
            _ => random.NextInt64(1, long.MaxValue),
        };

        string? Maybe(string value) => random.Next(3) == 0 ? null : value + random.Next(4);
        for (var sequence = 1; sequence <= 6_000; sequence++)
        {
            var kind = (LedgerEntryKind)random.Next(4);
            var priced = kind != LedgerEntryKind.Charge || random.Next(2) == 0 ? null : new PricedCharge(
                random.Next(1, int.MaxValue), "EU" + (char)('R' + random.Next(2)), Maybe("program-"),
                random.Next(2) == 0 ? null : new CreationPlace("node-" + random.Next(3), "silo-" + random.Next(2), Maybe("region-")),
                Maybe("home-"),
                [.. Enumerable.Range(0, random.Next(3)).Select(i => new PricedLine(
                    (TokenDirection)i, random.Next(1_000), new Money(random.Next(1, 900_000)), new Money(1_000), new Money(-5), new Money(5), new Money(1_000)))]);
            var tokens = random.Next(10_000);
            appended.Add(new LedgerEntry(
                sequence, new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.FromMinutes(random.Next(-14, 15) * 60)).AddTicks(random.NextInt64(1L << 40)),
                "t", random.Next(5) == 0 ? $"jöb-✓-{sequence}" : $"chatcmpl-{Guid.NewGuid():N}", "model-" + random.Next(4), kind, tokens,
                Number(), Number(), Number(), Number(),
                kind == LedgerEntryKind.Charge ? tokens / 3 : 0, kind == LedgerEntryKind.Charge ? tokens - (tokens / 3) : 0,
                Math.Abs(Number() / 2), Math.Abs(Number() / 2), Math.Abs(Number() / 2), priced,
                kind == LedgerEntryKind.Charge ? tokens / 7 : 0));
        }

        foreach (var batch in appended.Chunk(7))
        {
            store.Append("t", batch);
        }

        var read = new List<LedgerEntry>();
        for (long after = 0; ;)
        {
            var page = await store.ReadAsync("t", after, 500);
            read.AddRange(page.Entries);
            if (page.NextAfter is not { } next)
            {
                break;
            }

            after = next;
        }

        Assert.Equal(appended.Count, read.Count);
        for (var i = 0; i < appended.Count; i++)
        {
            Assert.Equal(Comparable(appended[i]), Comparable(read[i]));
            Assert.Equal(appended[i].At.Offset, read[i].At.Offset);
            Assert.Equal(appended[i].Priced?.Lines ?? [], read[i].Priced?.Lines ?? []);
        }

        Assert.Equal(appended.Select(Comparable), store.Lines("t").Select(Comparable));
        var job = appended[4_321];
        Assert.Equal([Comparable(job)], (await store.FindJobAsync("t", job.JobId)).Select(Comparable));
    }

    /// <summary>A line whose priced lines are left out: records compare a list by reference, the test compares it apart.</summary>
    private static LedgerEntry Comparable(LedgerEntry entry) => entry with { Priced = entry.Priced is { } p ? p with { Lines = [] } : null };
}
