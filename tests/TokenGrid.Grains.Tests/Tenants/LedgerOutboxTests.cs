using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Tenants;

[Collection(TenantClusterCollection.Name)]
public sealed class LedgerOutboxTests(TenantClusterFixture fixture)
{
    [Fact]
    public async Task Lines_the_store_refused_go_out_with_the_next_operation()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        fixture.Ledger.SetFailing(tenant.GetPrimaryKeyString(), true);

        // The budget move is saved even though its ledger lines could not be appended.
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("a", "m", 10, 10))).Admitted);
        await tenant.SettleAsync(new SettlementRequest("a", 10, 5, JobOutcome.Completed));
        Assert.Empty(await tenant.ReadLedgerAsync());
        Assert.Equal(15, (await tenant.GetUsageAsync()).Charged);

        fixture.Ledger.SetFailing(tenant.GetPrimaryKeyString(), false);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("b", "m", 10, 10))).Admitted);

        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Equal(
            [LedgerEntryKind.Reserve, LedgerEntryKind.Charge, LedgerEntryKind.Refund, LedgerEntryKind.Reserve],
            ledger.Select(e => e.Kind));
    }

    [Fact]
    public async Task Lines_still_pending_when_the_grain_deactivates_go_out_on_reactivation_once()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("a", "m", 10, 10))).Admitted);
        fixture.Ledger.SetFailing(tenant.GetPrimaryKeyString(), true);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("b", "m", 10, 10))).Admitted);
        fixture.Ledger.SetFailing(tenant.GetPrimaryKeyString(), false);

        await fixture.Cluster.DeactivateAsync(tenant);
        Assert.Equal(40, (await tenant.GetUsageAsync()).Reserved);

        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Equal(["a", "b"], ledger.Select(e => e.JobId));
    }
}
