using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Tenants;

[Collection(TenantClusterCollection.Name)]
public sealed class SettlementTests(TenantClusterFixture fixture)
{
    [Fact]
    public async Task Settling_twice_charges_once_and_repeats_the_numbers()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("job-1", "m", 100, 400))).Admitted);

        var first = await tenant.SettleAsync(new SettlementRequest("job-1", 100, 250, JobOutcome.Completed));
        var second = await tenant.SettleAsync(new SettlementRequest("job-1", 100, 250, JobOutcome.Completed));

        Assert.Equal(new Settlement("job-1", 500, 350, 150, AlreadySettled: false), first);
        Assert.Equal(first with { AlreadySettled = true }, second);
        Assert.Equal(350, (await tenant.GetUsageAsync()).Charged);
    }

    [Fact]
    public async Task A_charge_line_says_how_many_of_its_tokens_were_the_prompts_and_the_completions()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("fits", "m", 100, 400))).Admitted);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("capped", "m", 100, 50))).Admitted);

        await tenant.SettleAsync(new SettlementRequest("fits", 100, 250, JobOutcome.Completed));

        // Used 100 + 80 of a 150-token reservation: the charge is capped at 150, the prompt's 100 counted first.
        await tenant.SettleAsync(new SettlementRequest("capped", 100, 80, JobOutcome.Completed));

        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Equal(
            [("fits", 350L, 100L, 250L), ("capped", 150L, 100L, 50L)],
            ledger.Where(e => e.Kind == LedgerEntryKind.Charge).Select(e => (e.JobId, e.Tokens, e.PromptTokens, e.CompletionTokens)));
        var usage = Assert.Single((await tenant.GetUsageAsync()).Models);
        Assert.Equal((200L, 300L), (usage.PromptTokens, usage.CompletionTokens));
    }

    [Fact]
    public async Task A_charge_line_records_the_prompt_tokens_taken_from_a_prefix_cache_at_most_its_charged_prompt()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("hit", "m", 100, 400))).Admitted);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("over", "m", 100, 400))).Admitted);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("miss", "m", 100, 400))).Admitted);

        await tenant.SettleAsync(new SettlementRequest("hit", 100, 20, JobOutcome.Completed) { CachedPromptTokens = 64 });
        await tenant.SettleAsync(new SettlementRequest("over", 100, 20, JobOutcome.Completed) { CachedPromptTokens = 500 });
        await tenant.SettleAsync(new SettlementRequest("miss", 100, 20, JobOutcome.Completed));

        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Equal(
            [("hit", 100L, 64L), ("over", 100L, 100L), ("miss", 100L, 0L)],
            ledger.Where(e => e.Kind == LedgerEntryKind.Charge).Select(e => (e.JobId, e.PromptTokens, e.CachedPromptTokens)));
        Assert.All(ledger.Where(e => e.Kind != LedgerEntryKind.Charge), e => Assert.Equal(0, e.CachedPromptTokens));
    }

    [Fact]
    public async Task A_settlement_older_than_the_window_is_still_repeated_from_the_ledger_and_never_recharged()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("old", "m", 10, 90))).Admitted);
        var first = await tenant.SettleAsync(new SettlementRequest("old", 10, 40, JobOutcome.Completed));
        for (var i = 0; i <= TenantState.SettledWindow; i++)
        {
            Assert.True((await tenant.AdmitAsync(new AdmissionRequest($"j{i}", "m", 1, 1))).Admitted);
            await tenant.SettleAsync(new SettlementRequest($"j{i}", 1, 1, JobOutcome.Completed));
        }

        var charged = (await tenant.GetUsageAsync()).Charged;
        Assert.Equal(first with { AlreadySettled = true }, await tenant.SettleAsync(new SettlementRequest("old", 10, 90, JobOutcome.Completed)));
        await Assert.ThrowsAsync<JobAlreadySettledException>(() => tenant.AdmitAsync(new AdmissionRequest("old", "m", 10, 90)));
        Assert.Equal(charged, (await tenant.GetUsageAsync()).Charged);
    }

    [Fact]
    public async Task Concurrent_repeats_of_one_settlement_charge_once()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("job-1", "m", 100, 400))).Admitted);

        // Different usage figures on the repeats: the first settlement wins and the others echo it.
        var settlements = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            tenant.SettleAsync(new SettlementRequest("job-1", 100, 200 + i, JobOutcome.Completed))));

        var original = Assert.Single(settlements, s => !s.AlreadySettled);
        Assert.All(settlements, s => Assert.Equal(original with { AlreadySettled = s.AlreadySettled }, s));
        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Single(ledger, e => e.Kind == LedgerEntryKind.Charge);
        Assert.Equal(original.Charged, (await tenant.GetUsageAsync()).Charged);
    }

    [Fact]
    public async Task A_partial_settlement_refunds_the_rest_to_quota_and_token_bucket()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { TokensPerMinute = 6_000, PeriodQuota = 50_000 });
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("job-1", "m", 1_000, 4_000))).Admitted);
        Assert.Equal(1_000, (await tenant.GetRateLimitsAsync()).TokensRemaining);

        var settlement = await tenant.SettleAsync(new SettlementRequest("job-1", 1_000, 500, JobOutcome.Cancelled));

        Assert.Equal(new Settlement("job-1", 5_000, 1_500, 3_500, AlreadySettled: false), settlement);
        Assert.Equal(4_500, (await tenant.GetRateLimitsAsync()).TokensRemaining);
        var usage = await tenant.GetUsageAsync();
        Assert.Equal((1_500, 0, 48_500), (usage.Charged, usage.Reserved, usage.Remaining));
        var model = Assert.Single(usage.Models);
        Assert.Equal(new ModelUsage("m", 1, 1_000, 500, 0), model);

        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Equal(
            [(LedgerEntryKind.Reserve, 5_000L), (LedgerEntryKind.Charge, 1_500L), (LedgerEntryKind.Refund, 3_500L)],
            ledger.Select(e => (e.Kind, e.Tokens)));
    }

    [Fact]
    public async Task A_refund_never_fills_the_token_bucket_past_capacity()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { TokensPerMinute = 6_000 });
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("job-1", "m", 0, 5_000))).Admitted);
        fixture.Time.Advance(TimeSpan.FromSeconds(45));

        await tenant.SettleAsync(new SettlementRequest("job-1", 0, 0, JobOutcome.Failed));

        var limits = await tenant.GetRateLimitsAsync();
        Assert.Equal((6_000L, TimeSpan.Zero), (limits.TokensRemaining, limits.TokensReset));
    }

    [Fact]
    public async Task Usage_beyond_the_reservation_is_charged_at_most_the_reservation()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("job-1", "m", 300, 100))).Admitted);

        var settlement = await tenant.SettleAsync(new SettlementRequest("job-1", 350, 200, JobOutcome.Completed));

        Assert.Equal(new Settlement("job-1", 400, 400, 0, AlreadySettled: false), settlement);
        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.DoesNotContain(ledger, e => e.Kind == LedgerEntryKind.Refund);
        // Prompt counted first, completion is the rest of the charge.
        Assert.Equal(new ModelUsage("m", 1, 350, 50, 0), Assert.Single((await tenant.GetUsageAsync()).Models));
    }

    [Fact]
    public async Task Settling_an_unknown_job_returns_zeros_and_changes_nothing()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);

        var settlement = await tenant.SettleAsync(new SettlementRequest("never-admitted", 10, 10, JobOutcome.Completed));

        Assert.Equal(new Settlement("never-admitted", 0, 0, 0, AlreadySettled: false), settlement);
        Assert.Empty(await tenant.ReadLedgerAsync());
        Assert.Equal(0, (await tenant.GetUsageAsync()).Charged);
    }

    [Fact]
    public async Task Admitting_an_open_job_again_reserves_once_and_a_settled_one_is_refused()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        var first = await tenant.AdmitAsync(new AdmissionRequest("job-1", "m", 100, 400));
        var again = await tenant.AdmitAsync(new AdmissionRequest("job-1", "m", 100, 400));

        Assert.True(again.Admitted);
        Assert.Equal(first.Reserved, again.Reserved);
        Assert.Equal(500, (await tenant.GetUsageAsync()).Reserved);
        Assert.Single(await tenant.ReadLedgerAsync());

        await tenant.SettleAsync(new SettlementRequest("job-1", 100, 100, JobOutcome.Completed));
        var error = await Assert.ThrowsAsync<JobAlreadySettledException>(() => tenant.AdmitAsync(new AdmissionRequest("job-1", "m", 100, 400)));
        Assert.Contains("already admitted and settled", error.Message);
        Assert.Equal("job-1", error.JobId);
        Assert.Equal(0, (await tenant.GetUsageAsync()).Reserved);
    }
}
