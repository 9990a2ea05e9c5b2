using Microsoft.Extensions.Time.Testing;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Tenants;

/// <summary>
/// What a tenant holds on its subsidy allowances: every hold is given back exactly once (admitted, refused, repeated or
/// lost in a reload of the saved state), and an allowance is returned with what its jobs spent once nothing is held.
/// </summary>
public sealed class SubsidyAllowancesTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 14, 9, 26, 53, TimeSpan.Zero));
    private readonly TenantState _state = new();
    private readonly SubsidyAllowances _allowances;

    public SubsidyAllowancesTests()
    {
        _allowances = new SubsidyAllowances(_time);
        _allowances.Reset(_state);
    }

    private static Money M(long micros) => new(micros);

    private SubsidyAllowance Block(long granted, string program = "p")
    {
        var block = new SubsidyAllowance
        {
            Id = "allowance-" + Guid.NewGuid().ToString("N"),
            ProgramId = program,
            PeriodStart = QuotaPeriods.StartOf(QuotaPeriod.Monthly, _time.GetUtcNow()),
            Granted = M(granted),
        };
        _allowances.Keep(block);
        return block;
    }

    /// <summary>Opens <paramref name="jobId"/> as the account does when it admits it with a hold on <paramref name="block"/>.</summary>
    private void Open(string jobId, SubsidyAllowance block, long held)
    {
        var price = new JobPrice(new PriceQuote(1, "USD", "m", []), TenantPlan.List, block.ProgramId, 4000, M(held), Money.Zero, null, block.Id);
        _state.Open[jobId] = new OpenReservation(jobId, "m", 10, 1, _time.GetUtcNow(), price);
        _allowances.Admitted(jobId);
    }

    [Fact]
    public void Holds_draw_on_the_current_allowance_until_it_has_too_little_left()
    {
        var block = Block(100);

        Assert.Same(block, _allowances.Current("p"));
        Assert.Null(_allowances.Current("other"));
        Assert.True(_allowances.TryHold("a", block, M(60), _time.GetUtcNow()));
        Assert.Equal(M(40), _allowances.Left(block));
        Assert.Equal((block.Id, M(60)), _allowances.HoldOf("a"));

        _allowances.Release("a");
        _allowances.Release("a");
        Assert.Equal(M(100), _allowances.Left(block));
        Assert.Null(_allowances.HoldOf("a"));
    }

    [Fact]
    public void A_replaced_allowance_is_returned_by_the_settlement_that_empties_it_and_the_current_one_lingers()
    {
        var block = Block(1_000);
        _allowances.TryHold("a", block, M(300), _time.GetUtcNow());
        _allowances.TryHold("b", block, M(300), _time.GetUtcNow());
        Open("a", block, 300);
        Open("b", block, 300);
        var newer = Block(1_000);
        Assert.Same(newer, _allowances.Current("p"));

        _state.Open.Remove("a");
        _allowances.Settled(block.Id, M(300), M(120));
        Assert.Equal(M(1_000 - 120 - 300), _allowances.Left(block));
        Assert.Empty(_state.PendingSubsidies);

        _state.Open.Remove("b");
        _allowances.Settled(block.Id, M(300), M(300));
        Assert.Equal([newer], _state.Allowances);
        Assert.Equal(new PendingSubsidy(block.Id, "p", M(420)), Assert.Single(_state.PendingSubsidies));
        Assert.True(_allowances.Holds(block.Id));
        Assert.False(_allowances.Holds("allowance-other"));

        // The current one, idle, stays for the linger time, then goes back with nothing spent.
        Assert.Equal(0, _allowances.ReturnIdle());
        _time.Advance(SubsidyAllowances.Linger);
        Assert.Equal(1, _allowances.ReturnIdle());
        Assert.Equal(new PendingSubsidy(newer.Id, "p", Money.Zero), _state.PendingSubsidies[^1]);
    }

    [Fact]
    public void A_reload_counts_holds_again_from_open_jobs_and_jobs_being_priced_and_gives_each_back_once()
    {
        var block = Block(1_000);
        _allowances.TryHold("open", block, M(100), _time.GetUtcNow());
        Open("open", block, 100);
        _allowances.TryHold("pricing", block, M(200), _time.GetUtcNow());

        // The saved state (as a store returns it): the open job and the allowance, not the job being priced.
        _allowances.Reset(_state);
        Assert.Equal(M(700), _allowances.Left(block));

        // The job being priced is refused after the reload: its hold goes back once, and only its own.
        _allowances.Release("pricing");
        _allowances.Release("open");
        Assert.Equal(M(900), _allowances.Left(block));
    }

    [Fact]
    public void Idle_allowances_are_returned_and_one_of_a_past_month_is_no_longer_current()
    {
        var idle = Block(500);
        var busy = Block(500, program: "q");
        _allowances.TryHold("job", busy, M(50), _time.GetUtcNow());

        Assert.False(_allowances.AnyIdle);
        _time.Advance(SubsidyAllowances.Linger);
        Assert.True(_allowances.AnyIdle);
        Assert.Equal(1, _allowances.ReturnIdle());
        Assert.Equal([busy], _state.Allowances);
        Assert.Equal(new PendingSubsidy(idle.Id, "p", Money.Zero), Assert.Single(_state.PendingSubsidies));
        Assert.False(_allowances.TryHold("late", idle, M(1), _time.GetUtcNow()));

        _time.Advance(TimeSpan.FromDays(31));
        Assert.Null(_allowances.Current("q"));
    }
}
