using Microsoft.Extensions.Time.Testing;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Billing;

namespace TokenGrid.Grains.Tests.Billing;

public sealed class SubsidyBookTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 14, 9, 26, 53, TimeSpan.Zero));

    private static Money M(long micros) => new(micros);

    private SubsidyBook Book(long budget, SubsidyExhaustion onExhausted = SubsidyExhaustion.FullPrice)
    {
        var book = new SubsidyBook(_time);
        book.Put(new SubsidyProgram("p", 4000, M(budget), onExhausted));
        return book;
    }

    [Fact]
    public void An_unknown_program_grants_nothing_and_records_nothing()
    {
        var book = new SubsidyBook(_time);

        Assert.Equal(new SubsidyGrant(Money.Zero, false), book.Reserve("t", "j", M(10)));
        Assert.Null(book.Info());
        Assert.False(book.Dirty);
    }

    [Fact]
    public void Full_price_grants_what_is_left_then_nothing()
    {
        var book = Book(100);

        Assert.Equal(new SubsidyGrant(M(60), false), book.Reserve("t", "a", M(60)));
        Assert.Equal(new SubsidyGrant(M(40), false), book.Reserve("t", "b", M(60)));
        Assert.Equal(new SubsidyGrant(Money.Zero, false), book.Reserve("t", "c", M(1)));
        Assert.False(book.State.Open.ContainsKey("c"));

        var info = book.Info()!;
        Assert.Equal((Money.Zero, M(100), Money.Zero), (info.Spent, info.Reserved, info.Remaining));
    }

    [Fact]
    public void Refuse_refuses_unless_all_that_is_wanted_is_left_and_reserves_nothing()
    {
        var book = Book(100, SubsidyExhaustion.Refuse);

        Assert.Equal(new SubsidyGrant(M(60), false), book.Reserve("t", "a", M(60)));
        Assert.Equal(new SubsidyGrant(Money.Zero, true), book.Reserve("t", "b", M(41)));
        Assert.Equal(new SubsidyGrant(M(40), false), book.Reserve("t", "c", M(40)));

        Assert.False(book.State.Open.ContainsKey("b"));
        Assert.Equal(M(100), book.Info()!.Reserved);
    }

    [Fact]
    public void A_block_gets_an_eighth_of_what_is_left_never_less_than_its_minimum_while_that_much_is_left()
    {
        var book = Book(8_000);

        // Asked for 6,400 with a minimum of 100: an eighth of the 8,000 left.
        Assert.Equal(new SubsidyGrant(M(1_000), false), book.Reserve("t", "block-1", M(6_400), minimum: M(100)));
        // 7,000 left: an eighth (875) is under the minimum of 900, so the minimum.
        Assert.Equal(new SubsidyGrant(M(900), false), book.Reserve("t", "block-2", M(6_400), minimum: M(900)));
        // Never more than asked for.
        Assert.Equal(new SubsidyGrant(M(10), false), book.Reserve("t", "block-3", M(10), minimum: M(1)));
        Assert.Equal(M(1_910), book.Info()!.Reserved);
    }

    [Fact]
    public void Refuse_refuses_a_block_only_when_its_minimum_is_not_left_and_grants_what_is_left_otherwise()
    {
        var book = Book(100, SubsidyExhaustion.Refuse);
        Assert.Equal(M(90), book.Reserve("t", "job", M(90)).Granted);

        Assert.Equal(new SubsidyGrant(Money.Zero, true), book.Reserve("t", "block-1", M(640), minimum: M(11)));
        Assert.Equal(new SubsidyGrant(M(10), false), book.Reserve("t", "block-2", M(640), minimum: M(10)));
        Assert.Equal(M(100), book.Info()!.Reserved);
    }

    [Fact]
    public void A_repeat_returns_the_same_grant_and_a_settlement_is_clamped_and_once()
    {
        var book = Book(100);
        Assert.Equal(M(70), book.Reserve("t", "a", M(70)).Granted);

        // Repeated with another amount (a retry): the open reservation answers.
        Assert.Equal(M(70), book.Reserve("t", "a", M(5)).Granted);
        Assert.Equal(M(30), book.Reserve("t", "b", M(50)).Granted);

        Assert.False(book.Settle("other-tenant", "a", M(1)));
        Assert.True(book.Settle("t", "a", M(1_000)));
        Assert.False(book.Settle("t", "a", M(1)));
        Assert.True(book.Settle("t", "b", M(10)));

        // A reservation after settlement gets nothing: the job is done.
        Assert.Equal(new SubsidyGrant(Money.Zero, false), book.Reserve("t", "a", M(10)));
        var info = book.Info()!;
        Assert.Equal((M(80), Money.Zero, M(20)), (info.Spent, info.Reserved, info.Remaining));
    }

    [Fact]
    public void A_new_month_starts_with_the_whole_budget_and_a_late_settlement_charges_its_own_month()
    {
        var book = Book(100);
        Assert.Equal(M(100), book.Reserve("t", "march", M(100)).Granted);
        Assert.Equal(Money.Zero, book.Reserve("t", "still-march", M(1)).Granted);

        _time.SetUtcNow(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero));
        var april = book.Info()!;
        Assert.Equal((new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero), Money.Zero, Money.Zero, M(100)),
            (april.PeriodStart, april.Spent, april.Reserved, april.Remaining));

        Assert.Equal(M(100), book.Reserve("t", "april", M(100)).Granted);
        Assert.True(book.Settle("t", "march", M(30)));

        var march = book.State.Periods.Single(p => p.Start.Month == 3);
        Assert.Equal((M(30), Money.Zero), (march.Spent, march.Reserved));
        var now = book.Info()!;
        Assert.Equal((Money.Zero, M(100), Money.Zero), (now.Spent, now.Reserved, now.Remaining));
    }

    [Fact]
    public void A_budget_change_applies_to_the_current_period_and_never_frees_more_than_is_left()
    {
        var book = Book(100);
        Assert.Equal(M(80), book.Reserve("t", "a", M(80)).Granted);

        book.Put(new SubsidyProgram("p", 4000, M(50), SubsidyExhaustion.FullPrice));
        Assert.Equal(Money.Zero, book.Info()!.Remaining);
        Assert.Equal(Money.Zero, book.Reserve("t", "b", M(1)).Granted);

        book.Put(new SubsidyProgram("p", 4000, M(150), SubsidyExhaustion.Refuse));
        Assert.Equal(M(70), book.Info()!.Remaining);
        Assert.True(book.Reserve("t", "c", M(71)).Refused);
    }

    [Fact]
    public void Leak_repair_releases_only_the_reservation_it_saw()
    {
        var book = Book(100);
        book.Reserve("t", "a", M(50));
        var seen = book.OpenSince(_time.GetUtcNow()).Single();
        _time.Advance(TimeSpan.FromMinutes(1));
        book.Reserve("t", "b", M(10));

        Assert.Equal(["a"], book.OpenSince(_time.GetUtcNow() - TimeSpan.FromSeconds(30)).Select(o => o.Key));
        Assert.False(book.Release("a", seen.Value.ReservedAt.AddTicks(1)));
        Assert.True(book.Release("a", seen.Value.ReservedAt));
        Assert.False(book.Release("a", seen.Value.ReservedAt));
        Assert.Equal((Money.Zero, M(10)), (book.Info()!.Spent, book.Info()!.Reserved));
    }

    [Theory]
    [InlineData(" ", 0, 0, "id")]
    [InlineData("p", -1, 0, "share_bps")]
    [InlineData("p", 10_001, 0, "share_bps")]
    [InlineData("p", 0, -1, "budget_per_period")]
    public void An_invalid_program_is_refused(string id, int share, long budget, string field)
    {
        var book = new SubsidyBook(_time);

        Assert.Contains(field, Assert.Throws<ArgumentException>(() => book.Put(new SubsidyProgram(id, share, M(budget), SubsidyExhaustion.Refuse))).Message);
        Assert.Null(book.Info());
    }

    [Theory]
    [InlineData(1, SubsidyExhaustion.FullPrice)]
    [InlineData(2, SubsidyExhaustion.Refuse)]
    [InlineData(3, SubsidyExhaustion.FullPrice)]
    public void Random_reservations_and_settlements_never_hold_or_spend_more_than_the_budget(int seed, SubsidyExhaustion onExhausted)
    {
        var random = new Random(seed);
        const long budget = 10_000;
        var book = Book(budget, onExhausted);
        var jobs = new List<string>();
        for (var step = 0; step < 20_000; step++)
        {
            switch (random.Next(10))
            {
                case < 5:
                    var job = $"j{random.Next(3_000)}";
                    var grant = book.Reserve("t", job, M(random.Next(0, 1_500)));
                    if (grant.Granted > Money.Zero)
                    {
                        jobs.Add(job);
                    }

                    break;
                case < 9 when jobs.Count > 0:
                    var index = random.Next(jobs.Count);
                    book.Settle("t", jobs[index], M(random.Next(0, 2_000)));
                    jobs.RemoveAt(index);
                    break;
                default:
                    _time.Advance(TimeSpan.FromDays(random.Next(0, 12)));
                    break;
            }

            foreach (var period in book.State.Periods)
            {
                var open = book.State.Open.Values.Where(o => o.PeriodStart == period.Start).Sum(o => o.Amount.Micros);
                Assert.Equal(open, period.Reserved.Micros);
                Assert.True(period.Spent.Micros + period.Reserved.Micros <= budget, $"step {step}: {period.Start:u} over budget");
            }

            var info = book.Info()!;
            Assert.Equal(budget, info.Spent.Micros + info.Reserved.Micros + info.Remaining.Micros);
        }
    }
}
