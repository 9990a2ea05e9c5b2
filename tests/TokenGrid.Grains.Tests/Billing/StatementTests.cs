using Microsoft.Extensions.Time.Testing;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Grains.Ledger;
using static TokenGrid.Grains.Tests.Billing.PricedEntries;

namespace TokenGrid.Grains.Tests.Billing;

public sealed class StatementTests
{
    private static readonly DateTimeOffset December = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static StatementPeriod Period(string text)
    {
        Assert.True(StatementPeriod.TryParse(text, out var period));
        return period;
    }

    [Theory]
    [InlineData("2026-12", true)]
    [InlineData("0001-01", true)]
    [InlineData("9998-12", true)]
    [InlineData("9999-12", false)]
    [InlineData("2026-13", false)]
    [InlineData("2026-00", false)]
    [InlineData("2026-1", false)]
    [InlineData("2026/12", false)]
    [InlineData("26-12-01", false)]
    [InlineData("+026-12", false)]
    [InlineData("2026-12\n", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void A_period_is_exactly_a_month_as_yyyy_MM(string? text, bool valid)
    {
        Assert.Equal(valid, StatementPeriod.TryParse(text, out var period));
        if (valid)
        {
            Assert.Equal(text, period.ToString());
            Assert.Equal(period.Start.AddMonths(1), period.End);
        }
    }

    [Fact]
    public void A_charge_falls_in_the_month_of_its_time_in_UTC()
    {
        var lastInstant = December.AddTicks(-1);
        Assert.Equal("2026-11", StatementPeriod.Of(lastInstant).ToString());
        Assert.Equal("2026-12", StatementPeriod.Of(December).ToString());
        Assert.Equal("2026-11", StatementPeriod.Of(new DateTimeOffset(2026, 12, 1, 0, 30, 0, TimeSpan.FromHours(1))).ToString());
    }

    [Fact]
    public void Lines_group_by_model_direction_region_and_unit_price_and_a_price_change_makes_two_lines()
    {
        var entries = new[]
        {
            Charge("t", 1, December.AddDays(1), 1_000, 2_000),
            Charge("t", 2, December.AddDays(2), 3_000, 4_000),
            Charge("t", 3, December.AddDays(20), 5_000, 6_000, completionPrice: "0.45", version: 2),
            Charge("t", 4, December.AddDays(3), 7, 8, region: null, discountBps: 1_000, subsidyBps: 4_000),
            Charge("t", 5, December.AddTicks(-1), 1_000_000, 1_000_000),
            Charge("t", 6, December.AddMonths(1), 1_000_000, 1_000_000),
            new LedgerEntry(7, December.AddDays(4), "t", "unpriced", "demo", LedgerEntryKind.Charge, 10, 100, 10, 0, 90, 4, 6),
        };

        var statement = StatementBuilder.Build("t", Period("2026-12"), entries);

        Assert.Equal(
            [
                ("prompt", null, "0.150000", 7L),
                ("prompt", "north", "0.150000", 9_000L),
                ("completion", null, "0.600000", 8L),
                ("completion", "north", "0.450000", 6_000L),
                ("completion", "north", "0.600000", 6_000L),
            ],
            statement.Lines.Select(l => (l.Direction == TokenDirection.Prompt ? "prompt" : "completion", l.Region, l.UnitPrice.ToString(), l.Tokens)));
        Assert.All(statement.Lines, l => Assert.Equal(l.List, l.Discount + l.Subsidy + l.AmountDue));

        // Every amount is the sum of the charges' own, never rounded again.
        var inPeriod = entries.Where(e => e.Priced is not null && StatementPeriod.Of(e.At) == Period("2026-12")).ToList();
        var total = Assert.Single(statement.Totals);
        Assert.Equal(inPeriod.Sum(e => e.Priced!.Tenant.Micros), total.AmountDue.Micros);
        Assert.Equal(inPeriod.Sum(e => e.Priced!.Subsidy.Micros), total.Subsidy.Micros);
        Assert.Equal(inPeriod.Sum(e => e.Tokens), total.Tokens);
        Assert.Equal(("USD", "0.003600"), (total.Currency, statement.Lines[^1].List.ToString()));
    }

    [Fact]
    public void Daily_usage_counts_every_charge_and_prices_the_priced_ones()
    {
        var entries = new[]
        {
            Charge("t", 1, December.AddHours(1), 1_000, 2_000),
            Charge("t", 2, December.AddHours(2), 1_000, 2_000),
            new LedgerEntry(3, December.AddHours(3), "t", "unpriced", "demo", LedgerEntryKind.Charge, 10, 100, 10, 0, 90, 4, 6),
            Charge("t", 4, December.AddDays(1), 1, 1),
        };

        var days = StatementBuilder.Daily(entries, DateOnly.FromDateTime(December.UtcDateTime), DateOnly.FromDateTime(December.UtcDateTime));

        Assert.Equal(
            [(null, 4L, 6L, "0.000000"), ("USD", 2_000L, 4_000L, "0.002700")],
            days.Select(d => (d.Currency, d.PromptTokens, d.CompletionTokens, d.AmountDue.ToString())));
    }

    [Fact]
    public void The_in_memory_ledger_refuses_a_priced_line_that_does_not_add_up()
    {
        var ledger = new InMemoryLedgerStore();
        var good = Charge("t", 1, December, 1_000, 2_000, discountBps: 500, subsidyBps: 2_500);
        var line = good.Priced!.Lines[0];
        var broken = good with { Sequence = 2, Priced = good.Priced with { Lines = [line with { Tenant = line.Tenant + new Money(1) }] } };

        var refused = Assert.Throws<InvalidOperationException>(() => ledger.Append("t", [good, broken]));
        Assert.Contains("list = discount + subsidy + tenant", refused.Message);
        Assert.Throws<InvalidOperationException>(() => ledger.Append("t", [good with { Kind = LedgerEntryKind.Refund, PromptTokens = 0, CompletionTokens = 0 }]));
        Assert.Empty(ledger.Lines("t"));

        ledger.Append("t", [good]);
        var stored = Assert.Single(ledger.Lines("t"));
        Assert.Equal(good.Priced.Lines, stored.Priced!.Lines);
        Assert.Equal(good with { Priced = stored.Priced with { Lines = good.Priced.Lines } }, stored with { Priced = stored.Priced with { Lines = good.Priced.Lines } });
    }

    [Fact]
    public async Task A_closed_period_keeps_its_statements_whatever_comes_later_and_closing_again_changes_nothing()
    {
        var ledger = new InMemoryLedgerStore();
        var store = new InMemoryStatementStore(ledger);
        var clock = new FakeTimeProvider(December.AddDays(10));
        var book = new StatementBook(store, clock);
        ledger.Append("a", [Charge("a", 1, December.AddDays(1), 1_000, 2_000)]);
        ledger.Append("b", [Charge("b", 1, December.AddDays(2), 10, 20)]);

        await Assert.ThrowsAsync<PeriodNotEndedException>(() => book.CloseAsync(Period("2026-12")));
        var open = (await book.GetAsync("a", Period("2026-12")))!;
        Assert.Equal((StatementStatus.Open, 2), (open.Status, open.Lines.Count));
        Assert.Null(await book.GetAsync("a", Period("2027-01")));

        // At the month's end and within the grace after it, the close is refused: a charge dated in the month may still
        // be on its way to storage, and lands on the statement once the grace has passed.
        clock.SetUtcNow(December.AddMonths(1));
        var early = await Assert.ThrowsAsync<PeriodNotEndedException>(() => book.CloseAsync(Period("2026-12")));
        Assert.Equal(StatementBook.CloseGrace, early.Wait);
        clock.Advance(StatementBook.CloseGrace - TimeSpan.FromTicks(1));
        Assert.Equal(TimeSpan.FromTicks(1), (await Assert.ThrowsAsync<PeriodNotEndedException>(() => book.CloseAsync(Period("2026-12")))).Wait);
        ledger.Append("b", [Charge("b", 2, December.AddMonths(1) - TimeSpan.FromMilliseconds(100), 30, 40)]);
        clock.Advance(TimeSpan.FromTicks(1));
        open = (await book.GetAsync("b", Period("2026-12")))!;
        var closed = await book.CloseAsync(Period("2026-12"));
        var closedB = (await book.GetAsync("b", Period("2026-12")))!;
        Assert.Equal(open.Lines, closedB.Lines);
        Assert.Equal(10 + 20 + 30 + 40, closedB.Lines.Sum(l => l.Tokens));
        open = (await book.GetAsync("a", Period("2026-12")))!;
        Assert.Equal(2, closed.Statements);
        ledger.Append("a", [Charge("a", 2, December.AddDays(3), 5, 5)]);
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(closed, await book.CloseAsync(Period("2026-12")));

        var stored = (await book.GetAsync("a", Period("2026-12")))!;
        Assert.Equal((StatementStatus.Closed, closed.ClosedAt), (stored.Status, stored.ClosedAt));
        Assert.Equal(open.Lines, stored.Lines);
        Assert.NotEqual(open.Lines, await store.ComputeAsync("a", Period("2026-12")));

        var listed = await book.ListAsync("a");
        Assert.Equal([("2026-12", StatementStatus.Closed), ("2027-01", StatementStatus.Open)], listed.Select(s => (s.Period.ToString(), s.Status)));
        Assert.Empty((await book.GetAsync("nobody", Period("2026-12")))!.Lines);
    }

    /// <summary>
    /// The local profile's rule for late charges, as on PostgreSQL: a charge stored after its month closed is a late line
    /// of the first later statement still open, and each charge is in exactly one statement.
    /// </summary>
    [Fact]
    public async Task A_charge_stored_after_its_month_closed_is_a_late_line_of_the_next_open_statement()
    {
        var ledger = new InMemoryLedgerStore();
        var store = new InMemoryStatementStore(ledger);
        var clock = new FakeTimeProvider(December.AddMonths(1).Add(StatementBook.CloseGrace));
        var book = new StatementBook(store, clock);
        ledger.Append("a", [Charge("a", 1, December.AddDays(1), 1_000, 2_000)]);
        await book.CloseAsync(Period("2026-12"));

        // A settlement retried through an outage lands ten minutes after the close, dated in December.
        ledger.Append("a", [Charge("a", 2, December.AddMonths(1).AddSeconds(-2), 30, 40)]);
        clock.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(1_000 + 2_000, (await book.GetAsync("a", Period("2026-12")))!.Lines.Sum(l => l.Tokens));
        var january = (await book.GetAsync("a", Period("2027-01")))!;
        Assert.Equal([(30L, "2026-12"), (40L, "2026-12")], january.Lines.Select(l => (l.Tokens, l.LateFrom.ToString())));
        var listed = await book.ListAsync("a");
        Assert.Equal(1_000 + 2_000 + 30 + 40, listed.Sum(s => s.Lines.Sum(l => l.Tokens)));
        Assert.Equal(
            ledger.Lines("a").Sum(e => e.Priced!.Tenant.Micros),
            listed.Sum(s => s.Totals.Sum(t => t.AmountDue.Micros)));
    }
}
