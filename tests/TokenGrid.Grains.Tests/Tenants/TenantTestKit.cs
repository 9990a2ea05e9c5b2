using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Tenants;

/// <summary>Helpers shared by the tenant tests: fresh tenants, whole ledgers and the ledger invariants.</summary>
internal static class TenantTestKit
{
    /// <summary>A budget with room everywhere, to narrow one limit at a time.</summary>
    public static TenantBudget Roomy { get; } = new()
    {
        TokensPerMinute = 1_000_000,
        RequestsPerMinute = 10_000,
        MaxConcurrentJobs = 1_000,
        PeriodQuota = 100_000_000,
    };

    /// <summary>Creates a tenant with a new id and the budget given.</summary>
    public static async Task<ITenantGrain> NewTenantAsync(this TenantClusterFixture fixture, TenantBudget budget)
    {
        var tenant = fixture.Grains.GetGrain<ITenantGrain>("t-" + Guid.NewGuid().ToString("N"));
        await tenant.CreateAsync(new TenantSpec("Test tenant", budget));
        return tenant;
    }

    /// <summary>Every ledger entry, read in small pages to exercise paging.</summary>
    public static async Task<List<LedgerEntry>> ReadLedgerAsync(this ITenantGrain tenant)
    {
        var entries = new List<LedgerEntry>();
        long after = 0;
        while (true)
        {
            var page = await tenant.GetLedgerAsync(after, 17);
            entries.AddRange(page.Entries);
            if (page.NextAfter is not { } next)
            {
                return entries;
            }

            Assert.Equal(page.Entries[^1].Sequence, next);
            after = next;
        }
    }

    /// <summary>
    /// Checks every line: sequences 1..n, the balance invariant, the running charged and reserved recomputed from the
    /// lines themselves, charge + refund = reservation for each settled job, and a charge's prompt + completion tokens
    /// = its tokens (0 and 0 on every other line).
    /// </summary>
    public static void AssertConsistent(IReadOnlyList<LedgerEntry> entries)
    {
        long charged = 0, reserved = 0;
        var jobs = new Dictionary<string, (long Reserved, long Charged, long Refunded, bool Settled)>();
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            Assert.Equal(i + 1, e.Sequence);
            Assert.Equal(e.Kind == LedgerEntryKind.Charge ? e.Tokens : 0, e.PromptTokens + e.CompletionTokens);
            Assert.True(e.PromptTokens >= 0 && e.CompletionTokens >= 0);
            switch (e.Kind)
            {
                case LedgerEntryKind.Reserve:
                    reserved += e.Tokens;
                    Assert.False(jobs.ContainsKey(e.JobId), $"job {e.JobId} reserved twice");
                    jobs[e.JobId] = (e.Tokens, 0, 0, false);
                    break;
                case LedgerEntryKind.Charge:
                    reserved -= e.Tokens;
                    charged += e.Tokens;
                    Assert.False(jobs[e.JobId].Settled, $"job {e.JobId} charged twice");
                    jobs[e.JobId] = jobs[e.JobId] with { Charged = e.Tokens, Settled = true };
                    break;
                case LedgerEntryKind.Refund:
                    reserved -= e.Tokens;
                    Assert.True(e.Tokens > 0);
                    Assert.Equal(LedgerEntryKind.Charge, entries[i - 1].Kind);
                    Assert.Equal(e.JobId, entries[i - 1].JobId);
                    jobs[e.JobId] = jobs[e.JobId] with { Refunded = e.Tokens };
                    break;
                case LedgerEntryKind.PeriodReset:
                    Assert.Equal(charged, e.Tokens);
                    charged = 0;
                    break;
            }

            Assert.Equal(charged, e.ChargedAfter);
            Assert.Equal(reserved, e.ReservedAfter);
            Assert.Equal(e.Quota - e.ChargedAfter - e.ReservedAfter, e.BalanceAfter);
        }

        foreach (var (jobId, job) in jobs.Where(j => j.Value.Settled))
        {
            Assert.True(job.Charged + job.Refunded == job.Reserved, $"job {jobId}: {job.Charged} + {job.Refunded} != {job.Reserved}");
        }
    }
}
