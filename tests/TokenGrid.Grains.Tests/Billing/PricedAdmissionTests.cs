using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;
using TokenGrid.Grains.Tests.Support;
using TokenGrid.Grains.Tests.Tenants;

namespace TokenGrid.Grains.Tests.Billing;

/// <summary>
/// Money through the tenant grain: admission holds a job's most possible cost against the spend cap, settlement charges
/// the exact cost where the tokens were created, at the version in force at admission. Each test prices a model of its
/// own, so the tenant tests that share the cluster stay unpriced.
/// </summary>
[Collection(TenantClusterCollection.Name)]
public sealed class PricedAdmissionTests(TenantClusterFixture fixture)
{
    [Fact]
    public async Task Concurrent_admissions_never_overspend_the_spend_cap_by_one_micro()
    {
        var model = NewModel();
        await PublishAsync(Price(model, TokenDirection.Prompt, "1"), Price(model, TokenDirection.Completion, "3"));
        // Each job may cost 100 × 1 + 300 × 3 = 1,000 micros: 57 fit under 57,500.
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { SpendCap = new Money(57_500) });

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
            (JobId: $"job-{i:D3}", Result: await tenant.AdmitAsync(new AdmissionRequest($"job-{i:D3}", model, 100, 300)))));

        var admitted = results.Where(r => r.Result.Admitted).Select(r => r.JobId).ToList();
        Assert.Equal(57, admitted.Count);
        var refused = results.Where(r => !r.Result.Admitted).Select(r => r.Result).ToList();
        Assert.All(refused, r => Assert.Equal(AdmissionRejection.SpendCapReached, r.Rejection));
        Assert.Contains("spend cap of 0.057500 USD", refused[0].Message);

        var random = new Random(7);
        await Task.WhenAll(admitted.Select(id =>
            tenant.SettleAsync(new SettlementRequest(id, random.Next(0, 101), random.Next(0, 301), JobOutcome.Completed))));

        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        AssertSpendConsistent(ledger);
        Assert.All(ledger.Where(e => e.Kind == LedgerEntryKind.Reserve), e => Assert.Equal(1_000, e.SpendMicros));
        Assert.True(ledger.Max(e => e.SpendChargedAfter + e.SpendReservedAfter) <= 57_500);
        var charges = ledger.Where(e => e.Kind == LedgerEntryKind.Charge).ToList();
        Assert.All(charges, c => Assert.Equal(c.PromptTokens + 3 * c.CompletionTokens, c.SpendMicros));
        Assert.Equal(charges.Sum(c => c.SpendMicros), ledger[^1].SpendChargedAfter);
        Assert.Equal(0, ledger[^1].SpendReservedAfter);
    }

    [Fact]
    public async Task A_job_is_charged_where_its_tokens_were_made_under_the_tenants_plan()
    {
        var model = NewModel();
        await PublishAsync(
            Price(model, TokenDirection.Prompt, "2"), Price(model, TokenDirection.Completion, "8"),
            Price(model, TokenDirection.Completion, "6", "north"));
        var plan = new TenantPlan("partner", 2_500, [new(model, TokenDirection.Prompt, null, M("1"))]);
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { Plan = plan, HomeRegion = "west" });

        var admission = await tenant.AdmitAsync(new AdmissionRequest("job", model, 100_000, 100_000));
        await tenant.SettleAsync(new SettlementRequest("job", 50_000, 100_000, JobOutcome.Completed)
        {
            Place = new CreationPlace("silo-b/cpu0", "silo-b", "north"),
        });

        Assert.True(admission.Admitted);
        var ledger = await tenant.ReadLedgerAsync();
        AssertSpendConsistent(ledger);
        // Held: the negotiated prompt (0.1 USD) and the dearest completion (0.8 USD less 25%).
        Assert.Equal(M("0.7").Micros, ledger.Single(e => e.Kind == LedgerEntryKind.Reserve).SpendMicros);
        var charge = ledger.Single(e => e.Kind == LedgerEntryKind.Charge);
        var priced = charge.Priced!;
        Assert.Equal(("USD", "north", "silo-b", "west", (string?)null), (priced.Currency, priced.Place!.Region, priced.Place.Silo, priced.HomeRegion, priced.ProgramId));
        var prompt = priced.Lines[0];
        var completion = priced.Lines[1];
        Assert.Equal((50_000L, M("2"), M("0.1"), M("0.05"), M("0.05")), (prompt.Tokens, prompt.UnitPrice, prompt.List, prompt.Discount, prompt.Tenant));
        Assert.Equal((100_000L, M("6"), M("0.6"), M("0.15"), M("0.45")), (completion.Tokens, completion.UnitPrice, completion.List, completion.Discount, completion.Tenant));
        Assert.Equal(M("0.5").Micros, charge.SpendMicros);
        Assert.Equal(M("0.2").Micros, ledger.Single(e => e.Kind == LedgerEntryKind.Refund).SpendMicros);
    }

    [Fact]
    public async Task A_price_change_never_reprices_a_job_already_admitted()
    {
        var model = NewModel();
        var first = await PublishAsync(Price(model, TokenDirection.Completion, "1"));
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        await tenant.AdmitAsync(new AdmissionRequest("before", model, 0, 100_000));

        var second = await PublishAsync(Price(model, TokenDirection.Completion, "5"));
        await tenant.AdmitAsync(new AdmissionRequest("after", model, 0, 100_000));
        await tenant.SettleAsync(new SettlementRequest("before", 0, 100_000, JobOutcome.Completed));
        await tenant.SettleAsync(new SettlementRequest("after", 0, 100_000, JobOutcome.Completed));

        var charges = (await tenant.ReadLedgerAsync()).Where(e => e.Kind == LedgerEntryKind.Charge).ToDictionary(e => e.JobId, e => e.Priced!);
        Assert.Equal((first.Version, M("0.1")), (charges["before"].PriceVersion, charges["before"].Tenant));
        Assert.Equal((second.Version, M("0.5")), (charges["after"].PriceVersion, charges["after"].Tenant));
    }

    [Fact]
    public async Task A_model_the_card_does_not_price_moves_no_money_and_meets_no_spend_cap()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { SpendCap = Money.Zero });

        var admission = await tenant.AdmitAsync(new AdmissionRequest("job", NewModel(), 10, 10));
        await tenant.SettleAsync(new SettlementRequest("job", 10, 5, JobOutcome.Completed));

        Assert.True(admission.Admitted);
        Assert.All(await tenant.ReadLedgerAsync(), e => Assert.Equal((0L, (PricedCharge?)null), (e.SpendMicros, e.Priced)));
    }

    [Fact]
    public async Task Spend_thresholds_raise_one_event_each_per_period()
    {
        var model = NewModel();
        await PublishAsync(Price(model, TokenDirection.Completion, "1"));
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { SpendCap = new Money(10_000), Period = QuotaPeriod.Daily });
        var jobs = 0;

        async Task SpendAsync(int micros)
        {
            var id = $"job-{++jobs}";
            var admitted = await tenant.AdmitAsync(new AdmissionRequest(id, model, 0, micros));
            Assert.True(admitted.Admitted, admitted.Message);
            await tenant.SettleAsync(new SettlementRequest(id, 0, micros, JobOutcome.Completed));
        }

        await SpendAsync(4_000);
        var none = await tenant.GetSpendEventsAsync();
        await SpendAsync(1_500);
        await SpendAsync(3_000);
        await SpendAsync(1_500);
        var thisPeriod = await tenant.GetSpendEventsAsync();
        fixture.Time.Advance(TimeSpan.FromDays(1));
        await SpendAsync(5_000);
        var events = await tenant.GetSpendEventsAsync();

        Assert.Empty(none);
        Assert.Equal([50, 80, 100], thisPeriod.Select(e => e.Percent));
        Assert.Equal([5_500L, 8_500, 10_000], thisPeriod.Select(e => e.Spent.Micros));
        Assert.All(thisPeriod, e => Assert.Equal(("USD", 10_000L), (e.Currency, e.Cap.Micros)));
        Assert.Equal([50, 80, 100, 50], events.Select(e => e.Percent));
        Assert.Equal(4, events.Select(e => e.Id).Distinct().Count());
        Assert.True(events[3].PeriodStart > events[2].PeriodStart);
    }

    /// <summary>
    /// Admission holds each request's most possible cost, so charges stop short of the cap: the cap is reached (the 100
    /// event) at the first request it refuses with nothing else held, not by a refusal that held jobs may still make
    /// room for, nor by a request larger than the whole cap.
    /// </summary>
    [Fact]
    public async Task The_spend_cap_is_reached_when_it_refuses_a_request_with_nothing_else_held()
    {
        var model = NewModel();
        await PublishAsync(Price(model, TokenDirection.Completion, "1"));
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { SpendCap = new Money(10_000) });
        var admitted = await tenant.AdmitAsync(new AdmissionRequest("spent", model, 0, 9_000));
        await tenant.SettleAsync(new SettlementRequest("spent", 0, 9_000, JobOutcome.Completed));

        var never = await tenant.AdmitAsync(new AdmissionRequest("too-large", model, 0, 20_000));
        var held = await tenant.AdmitAsync(new AdmissionRequest("held", model, 0, 500));
        var whileHeld = await tenant.AdmitAsync(new AdmissionRequest("while-held", model, 0, 1_000));
        var beforeReached = await tenant.GetSpendEventsAsync();
        await tenant.SettleAsync(new SettlementRequest("held", 0, 500, JobOutcome.Completed));
        var refused = await tenant.AdmitAsync(new AdmissionRequest("refused", model, 0, 1_000));
        var again = await tenant.AdmitAsync(new AdmissionRequest("again", model, 0, 1_000));
        var events = await tenant.GetSpendEventsAsync();

        Assert.True(admitted.Admitted && held.Admitted);
        Assert.All([never, whileHeld, refused, again], r => Assert.Equal(AdmissionRejection.SpendCapReached, r.Rejection));
        Assert.Equal([50, 80], beforeReached.Select(e => e.Percent));
        Assert.Equal([50, 80, 100], events.Select(e => e.Percent));
        Assert.Equal((9_500L, 10_000L), (events[2].Spent.Micros, events[2].Cap.Micros));
    }

    /// <summary>
    /// A large request the cap refuses while little is spent reaches nothing: smaller requests still fit, and the 50 and
    /// 80 events still come as the spend grows.
    /// </summary>
    [Fact]
    public async Task A_large_request_refused_early_in_the_period_does_not_reach_the_cap()
    {
        var model = NewModel();
        await PublishAsync(Price(model, TokenDirection.Completion, "1"));
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { SpendCap = new Money(10_000) });
        await tenant.AdmitAsync(new AdmissionRequest("spent", model, 0, 1_000));
        await tenant.SettleAsync(new SettlementRequest("spent", 0, 1_000, JobOutcome.Completed));

        var large = await tenant.AdmitAsync(new AdmissionRequest("large", model, 0, 9_500));
        var small = await tenant.AdmitAsync(new AdmissionRequest("small", model, 0, 5_000));
        await tenant.SettleAsync(new SettlementRequest("small", 0, 5_000, JobOutcome.Completed));
        var events = await tenant.GetSpendEventsAsync();

        Assert.Equal(AdmissionRejection.SpendCapReached, large.Rejection);
        Assert.True(small.Admitted, small.Message);
        Assert.Equal([50], events.Select(e => e.Percent));
    }

    [Fact]
    public async Task A_request_the_spend_cap_refuses_anyway_holds_none_of_the_subsidy_programs_budget()
    {
        var model = NewModel();
        await PublishAsync(Price(model, TokenDirection.Completion, "1"));
        var programId = "p-" + Guid.NewGuid().ToString("N")[..8];
        var program = fixture.Grains.GetGrain<ISubsidyProgramGrain>(programId);
        await program.PutAsync(new SubsidyProgram(programId, 5_000, new Money(1_000_000), SubsidyExhaustion.Refuse));
        var emptyId = "p-" + Guid.NewGuid().ToString("N")[..8];
        await fixture.Grains.GetGrain<ISubsidyProgramGrain>(emptyId).PutAsync(new SubsidyProgram(emptyId, 5_000, Money.Zero, SubsidyExhaustion.Refuse));
        // Each request may cost 2,000 micros, 1,000 of them the tenant's at least: a cap of 999 refuses it however it is
        // paid, so the program is not asked (the exhausted one would have refused it as subsidy_exhausted).
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { SpendCap = new Money(999), SubsidyProgram = emptyId });
        var fits = await fixture.NewTenantAsync(TenantTestKit.Roomy with { SpendCap = new Money(1_000), SubsidyProgram = programId });

        var refused = await tenant.AdmitAsync(new AdmissionRequest("job", model, 0, 2_000));
        var admitted = await fits.AdmitAsync(new AdmissionRequest("job", model, 0, 2_000));

        Assert.Equal(AdmissionRejection.SpendCapReached, refused.Rejection);
        Assert.True(admitted.Admitted, admitted.Message);
        // The program holds one block for the admitted tenant's jobs, and nothing for the refused one.
        Assert.Equal(new Money(1_000 * SubsidyAllowances.BlockJobs), (await program.GetAsync())!.Reserved);
        Assert.Equal(Money.Zero, (await fixture.Grains.GetGrain<ISubsidyProgramGrain>(emptyId).GetAsync())!.Reserved);
    }

    [Fact]
    public async Task Each_choice_of_a_group_that_fills_the_spend_cap_is_answered_as_admitted_and_everything_settles()
    {
        // The audit's case: 1 USD a token, a program paying half. Choice 0 (prompt 6 + 10) may cost the tenant 8 USD,
        // choice 1 (10) 5 USD: 13 of a 14 USD cap. Each choice's job then repeats its admission, which must not be priced
        // again: the cap's 1 USD left is less than either choice, counting the group's own hold.
        var model = NewModel();
        await PublishAsync(Price(model, TokenDirection.Prompt, "1000000"), Price(model, TokenDirection.Completion, "1000000"));
        var programId = "p-" + Guid.NewGuid().ToString("N")[..8];
        var program = fixture.Grains.GetGrain<ISubsidyProgramGrain>(programId);
        await program.PutAsync(new SubsidyProgram(programId, 5_000, M("100000"), SubsidyExhaustion.Refuse));
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with
        {
            SpendCap = M("14"), SubsidyProgram = programId, MaxConcurrentJobs = 2, Placement = PlacementPreference.Cheapest,
        });
        AdmissionRequest[] choices = [new("g-0", model, 6, 10), new("g-1", model, 0, 10)];

        var group = await tenant.AdmitGroupAsync(choices);
        var repeats = new[] { await tenant.AdmitAsync(choices[0]), await tenant.AdmitAsync(choices[1]) };

        Assert.True(group.Admitted, group.Message);
        Assert.All(repeats, r => Assert.True(r.Admitted, r.Message));
        Assert.Equal([16L, 10], repeats.Select(r => r.Reserved));
        // Answered as the first admission was, with what cost-aware placement needs.
        Assert.Equal(group.RegionCosts, repeats[0].RegionCosts);
        var usage = await tenant.GetUsageAsync();
        Assert.Equal((26L, 2, M("13").Micros), (usage.Reserved, usage.OpenJobs, usage.SpendReserved));

        await tenant.SettleAsync(new SettlementRequest("g-0", 6, 3, JobOutcome.Completed));
        await tenant.SettleAsync(new SettlementRequest("g-1", 0, 10, JobOutcome.Completed));

        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        AssertSpendConsistent(ledger);
        Assert.Equal(2, ledger.Count(e => e.Kind == LedgerEntryKind.Reserve));
        usage = await tenant.GetUsageAsync();
        Assert.Equal((0L, 0, 0L), (usage.Reserved, usage.OpenJobs, usage.SpendReserved));

        // Nothing is held on the tenant's block any more: it is returned once idle, and the program holds nothing.
        fixture.Time.Advance(2 * SubsidyAllowances.Linger);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var info = (await program.GetAsync())!;
        while (info.Reserved > Money.Zero && !deadline.IsCancellationRequested)
        {
            await Task.Delay(10, CancellationToken.None);
            info = (await program.GetAsync())!;
        }

        Assert.Equal((M("9.5"), Money.Zero), (info.Spent, info.Reserved));
    }

    [Fact]
    public async Task Jobs_hold_their_subsidy_on_blocks_of_the_programs_budget_and_the_program_is_paid_what_the_ledger_says()
    {
        var model = NewModel();
        await PublishAsync(Price(model, TokenDirection.Completion, "1"));
        var programId = "p-" + Guid.NewGuid().ToString("N")[..8];
        var program = fixture.Grains.GetGrain<ISubsidyProgramGrain>(programId);
        await program.PutAsync(new SubsidyProgram(programId, 5_000, new Money(1_000_000), SubsidyExhaustion.FullPrice));
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { SubsidyProgram = programId });

        // Each job may cost 2,000 micros, half of it subsidised: the first block holds 64 jobs' 1,000, the next one twice
        // as many (asked within the linger time), so the program holds blocks, not the 100 jobs' 100,000 one by one; and
        // never more than an eighth of what it has left per block.
        var ids = Enumerable.Range(0, 100).Select(i => $"job-{i:D3}").ToList();
        var admitted = await Task.WhenAll(ids.Select(id => tenant.AdmitAsync(new AdmissionRequest(id, model, 0, 2_000))));
        Assert.All(admitted, a => Assert.True(a.Admitted, a.Message));
        var held = (await program.GetAsync())!.Reserved.Micros;
        // At most three blocks: 64,000, then at most 117,000 (an eighth of 936,000), then an eighth of the rest.
        Assert.InRange(held, 100_001, 64_000 + 117_000 + ((1_000_000 - 181_000) / 8));

        var random = new Random(11);
        await Task.WhenAll(ids.Select(id => tenant.SettleAsync(new SettlementRequest(id, 0, random.Next(0, 2_001), JobOutcome.Completed))));

        // Emptied, each block is returned (the current one once it stayed unused for the linger time): the program is
        // told what its jobs spent, and holds nothing more.
        fixture.Time.Advance(2 * SubsidyAllowances.Linger);
        var ledger = await tenant.ReadLedgerAsync();
        var subsidised = ledger.Where(e => e.Kind == LedgerEntryKind.Charge).Sum(c => c.Priced!.Lines.Sum(l => l.Subsidy.Micros));
        Assert.True(subsidised > 0);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var info = (await program.GetAsync())!;
        while (info.Reserved > Money.Zero && !deadline.IsCancellationRequested)
        {
            await Task.Delay(10, CancellationToken.None);
            info = (await program.GetAsync())!;
        }

        Assert.Equal((subsidised, 0L), (info.Spent.Micros, info.Reserved.Micros));
    }

    /// <summary>Per job, charged + refunded spend = held spend, and the running totals follow the lines.</summary>
    private static void AssertSpendConsistent(IReadOnlyList<LedgerEntry> ledger)
    {
        long charged = 0, reserved = 0;
        foreach (var e in ledger)
        {
            switch (e.Kind)
            {
                case LedgerEntryKind.Reserve: reserved += e.SpendMicros; break;
                case LedgerEntryKind.Charge: reserved -= e.SpendMicros; charged += e.SpendMicros; break;
                case LedgerEntryKind.Refund: reserved -= e.SpendMicros; break;
            }

            Assert.Equal((charged, reserved), (e.SpendChargedAfter, e.SpendReservedAfter));
            if (e.Priced is { } priced)
            {
                Assert.Equal(priced.Tenant.Micros, e.SpendMicros);
                Assert.Equal(e.PromptTokens, priced.Lines[0].Tokens);
                Assert.Equal(e.CompletionTokens, priced.Lines[1].Tokens);
            }
        }

        foreach (var job in ledger.Where(e => e.JobId != "").GroupBy(e => e.JobId))
        {
            var held = job.Where(e => e.Kind == LedgerEntryKind.Reserve).Sum(e => e.SpendMicros);
            var settled = job.Where(e => e.Kind is LedgerEntryKind.Charge or LedgerEntryKind.Refund).Sum(e => e.SpendMicros);
            if (job.Any(e => e.Kind == LedgerEntryKind.Charge))
            {
                Assert.Equal(held, settled);
            }
        }
    }

    private static string NewModel() => "priced-" + Guid.NewGuid().ToString("N")[..8];

    private static Money M(string text) => Money.TryParse(text, out var money) ? money : throw new ArgumentException(text);

    private static PriceEntry Price(string model, TokenDirection direction, string perMillion, string? region = null) =>
        new(model, direction, region, M(perMillion));

    /// <summary>Publishes the card as the next version and moves the clock to the moment it takes effect.</summary>
    private async Task<RateCardVersion> PublishAsync(params PriceEntry[] prices)
    {
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var version = await fixture.Grains.GetGrain<IRateCardGrain>(0).PublishAsync("USD", prices, null);
        if (version.EffectiveFrom > fixture.Time.GetUtcNow())
        {
            fixture.Time.Advance(version.EffectiveFrom - fixture.Time.GetUtcNow());
        }

        return version;
    }
}
