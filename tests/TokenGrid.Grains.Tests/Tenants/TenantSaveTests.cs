using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Tenants;
using TokenGrid.Grains.Tests.Support;
using static TokenGrid.Grains.Tests.Tenants.FlakyTenantStore;

namespace TokenGrid.Grains.Tests.Tenants;

/// <summary>
/// The tenant grain's saves through <see cref="ITenantStore"/>: state, ledger lines and job ids are saved together or
/// not at all, and the grain never answers, or keeps in memory, more than was saved.
/// </summary>
[Collection(TenantClusterCollection.Name)]
public sealed class TenantSaveTests(TenantClusterFixture fixture)
{
    private static AdmissionRequest Admission(string jobId) => new(jobId, "m", 10, 10);

    [Fact]
    public async Task A_failed_save_answers_storage_unavailable_and_the_next_activation_starts_from_what_was_saved()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        var id = tenant.GetPrimaryKeyString();
        Assert.True((await tenant.AdmitAsync(Admission("a"))).Admitted);

        fixture.Store.SetFailing(id, true);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => tenant.AdmitAsync(Admission("b")));
        fixture.Store.SetFailing(id, false);

        // b's reservation, its ledger line, its job id and the request it took from the bucket are all gone.
        var usage = await tenant.GetUsageAsync();
        Assert.Equal((20L, 1), (usage.Reserved, usage.OpenJobs));
        Assert.Equal(TenantTestKit.Roomy.RequestsPerMinute - 1, (await tenant.GetRateLimitsAsync()).RequestsRemaining);
        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Equal([(LedgerEntryKind.Reserve, "a")], ledger.Select(e => (e.Kind, e.JobId)));
        Assert.Equal(["a"], await tenant.ListJobIdsAsync(null, 10));

        Assert.True((await tenant.AdmitAsync(Admission("b"))).Admitted);
        Assert.Equal(40, (await tenant.GetUsageAsync()).Reserved);
        ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Equal(["a", "b"], ledger.Select(e => e.JobId));
        Assert.Equal(["b", "a"], await tenant.ListJobIdsAsync(null, 10));
    }

    [Fact]
    public async Task Every_admission_of_a_batch_whose_save_fails_fails_and_none_reaches_the_ledger()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        var id = tenant.GetPrimaryKeyString();
        Assert.True((await tenant.AdmitAsync(Admission("a"))).Admitted);

        // b's save is held, so the admissions sent meanwhile gather in one batch behind it; that batch's save fails.
        var held = fixture.Store.HoldNextSave(id);
        var first = tenant.AdmitAsync(Admission("b"));
        await held.Entered;
        var batch = Enumerable.Range(0, 8).Select(i => $"c{i}").ToList();
        var arrived = Task.WhenAll(batch.Select(job => fixture.Arrivals.NextAsync(id, job)));
        var admissions = batch.Select(job => tenant.AdmitAsync(Admission(job))).ToList();
        await arrived;
        var batchSave = fixture.Store.HoldNextSave(id);
        held.Release();
        Assert.True((await first).Admitted);
        await batchSave.Entered;
        fixture.Store.SetFailing(id, true);
        batchSave.Release();

        foreach (var admission in admissions)
        {
            await Assert.ThrowsAsync<StorageUnavailableException>(() => admission);
        }

        fixture.Store.SetFailing(id, false);
        var failed = fixture.Store.SavesOf(id)[^1];
        Assert.Equal(SaveOutcome.Failed, failed.Outcome);
        Assert.Equal(batch, failed.Reserves.Order(StringComparer.Ordinal));

        var usage = await tenant.GetUsageAsync();
        Assert.Equal((40L, 2), (usage.Reserved, usage.OpenJobs));
        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Equal(["a", "b"], ledger.Select(e => e.JobId));
        Assert.Equal(["b", "a"], await tenant.ListJobIdsAsync(null, 10));

        Assert.True((await tenant.AdmitAsync(Admission("c0"))).Admitted);
        TenantTestKit.AssertConsistent(await tenant.ReadLedgerAsync());
    }

    [Fact]
    public async Task Reserving_again_for_a_job_settled_before_the_window_is_refused_and_the_rest_of_its_batch_is_saved()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        var id = tenant.GetPrimaryKeyString();
        var old = new AdmissionRequest("old", "m", 10, 90);
        Assert.True((await tenant.AdmitAsync(old)).Admitted);
        await tenant.SettleAsync(new SettlementRequest("old", 10, 40, JobOutcome.Completed));
        for (var i = 0; i <= TenantState.SettledWindow; i++)
        {
            Assert.True((await tenant.AdmitAsync(new AdmissionRequest($"j{i}", "m", 1, 1))).Admitted);
            await tenant.SettleAsync(new SettlementRequest($"j{i}", 1, 1, JobOutcome.Completed));
        }

        var charged = (await tenant.GetUsageAsync()).Charged;

        // "old" is no longer in the state's window, so only the store can tell: x0's save is held so that "old" and
        // the others gather in one batch, which the store refuses and the grain applies again without "old".
        var held = fixture.Store.HoldNextSave(id);
        var first = tenant.AdmitAsync(Admission("x0"));
        await held.Entered;
        string[] others = ["x1", "x2", "x3"];
        var arrived = Task.WhenAll(others.Prepend("old").Select(job => fixture.Arrivals.NextAsync(id, job)));
        var again = tenant.AdmitAsync(old);
        var admitted = Task.WhenAll(others.Select(job => tenant.AdmitAsync(Admission(job))));
        await arrived;
        held.Release();

        Assert.True((await first).Admitted);
        var refused = await Assert.ThrowsAsync<JobAlreadySettledException>(() => again);
        Assert.Equal("old", refused.JobId);
        Assert.All(await admitted, r => Assert.True(r.Admitted));
        Assert.Equal(
            [("old,x1,x2,x3", SaveOutcome.Refused), ("x1,x2,x3", SaveOutcome.Saved)],
            fixture.Store.SavesOf(id).TakeLast(2).Select(s => (string.Join(",", s.Reserves.Order(StringComparer.Ordinal)), s.Outcome)));

        var usage = await tenant.GetUsageAsync();
        Assert.Equal((charged, 80L, 4), (usage.Charged, usage.Reserved, usage.OpenJobs));
        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Single(ledger, e => e.Kind == LedgerEntryKind.Reserve && e.JobId == "old");
        Assert.Equal(["x0", "x1", "x2", "x3"], ledger.TakeLast(4).Select(e => e.JobId).Order());

        // A new activation knows nothing of the refusal; the store refuses again.
        await fixture.Cluster.DeactivateAsync(tenant);
        await Assert.ThrowsAsync<JobAlreadySettledException>(() => tenant.AdmitAsync(old));
        Assert.Equal(ledger, await tenant.ReadLedgerAsync());
    }

    [Fact]
    public async Task The_state_survives_deactivation_exactly_and_the_ledger_continues_without_a_hole()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        Assert.True((await tenant.AdmitAsync(Admission("a"))).Admitted);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("b", "n", 100, 400))).Admitted);
        Assert.True((await tenant.AdmitAsync(Admission("c"))).Admitted);
        await tenant.SettleAsync(new SettlementRequest("a", 10, 3, JobOutcome.Completed));
        await tenant.IssueKeyAsync("ci");

        var usage = await tenant.GetUsageAsync();
        var limits = await tenant.GetRateLimitsAsync();
        var ledger = await tenant.ReadLedgerAsync();
        var jobs = await tenant.ListJobIdsAsync(null, 10);
        var keys = await tenant.ListKeysAsync();

        await fixture.Cluster.DeactivateAsync(tenant);

        var after = await tenant.GetUsageAsync();
        Assert.Equal(usage with { Models = [] }, after with { Models = [] });
        Assert.Equal(usage.Models, after.Models);
        Assert.Equal(limits, await tenant.GetRateLimitsAsync());
        Assert.Equal(ledger, await tenant.ReadLedgerAsync());
        Assert.Equal(jobs, await tenant.ListJobIdsAsync(null, 10));
        Assert.Equal(keys, await tenant.ListKeysAsync());

        // The open reservations came back: b is answered from its reservation, then settles against it.
        var repeat = await tenant.AdmitAsync(new AdmissionRequest("b", "n", 100, 400));
        Assert.Equal((true, 500L), (repeat.Admitted, repeat.Reserved));
        Assert.Equal(
            new Settlement("b", 500, 300, 200, AlreadySettled: false),
            await tenant.SettleAsync(new SettlementRequest("b", 100, 200, JobOutcome.Completed)));

        var continued = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(continued);
        Assert.Equal(ledger, continued.Take(ledger.Count));
        Assert.Equal(
            [(ledger[^1].Sequence + 1, LedgerEntryKind.Charge), (ledger[^1].Sequence + 2, LedgerEntryKind.Refund)],
            continued.Skip(ledger.Count).Select(e => (e.Sequence, e.Kind)));
    }

    [Fact]
    public async Task A_tenant_whose_state_cannot_be_loaded_fails_its_calls_and_recovers_once_it_can()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        var id = tenant.GetPrimaryKeyString();
        Assert.True((await tenant.AdmitAsync(Admission("a"))).Admitted);
        await fixture.Cluster.DeactivateAsync(tenant);

        fixture.Store.SetFailing(id, true, loadsToo: true);
        await Assert.ThrowsAsync<IOException>(() => tenant.GetUsageAsync());
        await Assert.ThrowsAsync<IOException>(() => tenant.AdmitAsync(Admission("b")));
        fixture.Store.SetFailing(id, false);

        Assert.Equal(20, (await tenant.GetUsageAsync()).Reserved);
        Assert.True((await tenant.AdmitAsync(Admission("b"))).Admitted);
        var ledger = await tenant.ReadLedgerAsync();
        TenantTestKit.AssertConsistent(ledger);
        Assert.Equal(["a", "b"], ledger.Select(e => e.JobId));
    }
}
