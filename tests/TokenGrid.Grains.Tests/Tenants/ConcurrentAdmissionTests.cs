using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Tenants;

[Collection(TenantClusterCollection.Name)]
public sealed class ConcurrentAdmissionTests(TenantClusterFixture fixture)
{
    private const int Jobs = 200;
    private const int Prompt = 200;
    private const int MaxCompletion = 800;
    private const int Reservation = Prompt + MaxCompletion;

    [Theory]
    [InlineData(57_500, 10_000_000, AdmissionRejection.TokenRateLimited)]
    [InlineData(1_000_000, 42_500, AdmissionRejection.QuotaExhausted)]
    public async Task Concurrent_admissions_and_settlements_never_overspend(long tokensPerMinute, long quota, AdmissionRejection expectedRejection)
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { TokensPerMinute = tokensPerMinute, PeriodQuota = quota });

        var results = await Task.WhenAll(Enumerable.Range(0, Jobs).Select(async i =>
        {
            var jobId = $"job-{i:D3}";
            return (JobId: jobId, Result: await tenant.AdmitAsync(new AdmissionRequest(jobId, "model-a", Prompt, MaxCompletion)));
        }));

        var admitted = results.Where(r => r.Result.Admitted).ToList();
        var expected = Math.Min(tokensPerMinute, quota) / Reservation;
        Assert.Equal(expected, admitted.Count);
        Assert.All(admitted, r => Assert.Equal(Reservation, r.Result.Reserved));
        var reservedTotal = admitted.Sum(r => r.Result.Reserved);
        Assert.True(reservedTotal <= quota && reservedTotal <= tokensPerMinute);
        Assert.All(results.Where(r => !r.Result.Admitted), r => Assert.Equal(expectedRejection, r.Result.Rejection));

        var usage = await tenant.GetUsageAsync();
        Assert.Equal(reservedTotal, usage.Reserved);
        Assert.Equal(admitted.Count, usage.OpenJobs);

        var random = new Random(20260314);
        var used = admitted.ToDictionary(r => r.JobId, _ => (Prompt: random.Next(0, Prompt + 1), Completion: random.Next(0, MaxCompletion + 1)));
        var settlements = await Task.WhenAll(used.Select(u =>
            tenant.SettleAsync(new SettlementRequest(u.Key, u.Value.Prompt, u.Value.Completion, JobOutcome.Completed))));

        foreach (var s in settlements)
        {
            Assert.False(s.AlreadySettled);
            Assert.Equal(Reservation, s.Reserved);
            Assert.Equal(used[s.JobId].Prompt + used[s.JobId].Completion, s.Charged);
            Assert.Equal(s.Reserved, s.Charged + s.Refunded);
        }

        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Equal(admitted.Count, ledger.Count(e => e.Kind == LedgerEntryKind.Reserve));
        Assert.Equal(admitted.Count, ledger.Count(e => e.Kind == LedgerEntryKind.Charge));

        var charged = settlements.Sum(s => s.Charged);
        Assert.Equal(charged, ledger.Where(e => e.Kind == LedgerEntryKind.Charge).Sum(e => e.Tokens));
        usage = await tenant.GetUsageAsync();
        Assert.Equal(charged, usage.Charged);
        Assert.Equal(0, usage.Reserved);
        Assert.Equal(0, usage.OpenJobs);
        Assert.Equal(quota - charged, usage.Remaining);
        var model = Assert.Single(usage.Models);
        Assert.Equal(admitted.Count, model.Requests);
        Assert.Equal(charged, model.PromptTokens + model.CompletionTokens);
        Assert.Equal(used.Values.Sum(u => u.Prompt), model.PromptTokens);
    }
}
