using Microsoft.Extensions.Time.Testing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Tenants;

/// <summary><see cref="TenantAccount"/> on its own: the decisions of admission, settlement and keys, with no grain.</summary>
public sealed class TenantAccountTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 31, 23, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(T0);
    private readonly List<(DateTimeOffset Start, long Cleared)> _resets = [];
    private readonly TenantAccount _account;

    public TenantAccountTests()
    {
        _account = new TenantAccount("t", _time, (start, cleared) => _resets.Add((start, cleared)));
        _account.Create(new TenantSpec("T", TenantTestKit.Roomy with { MaxConcurrentJobs = 2 }));
    }

    [Fact]
    public void An_admission_reserves_once_and_its_settlement_charges_once()
    {
        var admitted = _account.Admit(new AdmissionRequest("a", "m", 10, 90));
        Assert.True(admitted is { Admitted: true, Refusal: null, Result: { Admitted: true, Reserved: 100 } });

        var repeat = _account.Admit(new AdmissionRequest("a", "m", 10, 90));
        Assert.True(repeat is { Admitted: false, Result: { Admitted: true, Reserved: 100 } });
        Assert.Equal((100L, 1), (_account.State.Reserved, _account.State.Open.Count));

        Assert.True(_account.Holds("a"));
        var settled = _account.Settle(new SettlementRequest("a", 10, 30, JobOutcome.Completed));
        Assert.Equal(new Settlement("a", 100, 40, 60, AlreadySettled: false), settled);
        Assert.Equal(settled with { AlreadySettled = true }, _account.Settle(new SettlementRequest("a", 10, 30, JobOutcome.Completed)));
        Assert.Equal((0L, 40L), (_account.State.Reserved, _account.State.Charged));
        Assert.Equal((1L, 10L, 30L), (_account.State.Models["m"].Requests, _account.State.Models["m"].PromptTokens, _account.State.Models["m"].CompletionTokens));

        Assert.Throws<JobAlreadySettledException>(() => _account.Admit(new AdmissionRequest("a", "m", 10, 90)));
        Assert.Equal([LedgerEntryKind.Reserve, LedgerEntryKind.Charge, LedgerEntryKind.Refund], _account.TakeUnsavedLines().Select(l => l.Kind));
        Assert.Empty(_account.TakeUnsavedLines());
    }

    [Fact]
    public void A_deleted_tenant_stays_disabled_and_takes_no_change_or_key()
    {
        var deleted = _account.Delete();
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal((false, T0), (deleted.Enabled, deleted.DeletedAt));
        Assert.Throws<TenantDeletedException>(() => _account.Update(new TenantSpec("T", TenantTestKit.Roomy, Enabled: true)));
        Assert.Throws<TenantDeletedException>(() => _account.AddKey(new StoredApiKey("h", new ApiKeyInfo("k", "t", "n", "p", T0, null))));
        Assert.Equal(T0, _account.Delete().DeletedAt);
        Assert.False(_account.State.Info!.Enabled);
    }

    [Fact]
    public void A_refused_admission_opens_nothing_and_a_refused_group_lists_no_job()
    {
        Assert.True(_account.Admit(new AdmissionRequest("a", "m", 1, 1)).Admitted);
        Assert.True(_account.Admit(new AdmissionRequest("b", "m", 1, 1)).Admitted);

        var refused = _account.Admit(new AdmissionRequest("c", "m", 1, 1));
        Assert.Equal(AdmissionRejection.ConcurrencyLimited, refused.Refusal?.Reason);
        Assert.True(refused.Result is { Admitted: false, Reserved: 0, Rejection: AdmissionRejection.ConcurrencyLimited });

        AdmissionRequest[] group = [new("d", "m", 1, 1), new("e", "m", 1, 1)];
        var groupRefused = _account.AdmitGroup(group, new AdmissionRequest("d", "m", 2, 2));
        Assert.Equal(AdmissionRejection.ConcurrencyLimited, groupRefused.Refusal?.Reason);
        Assert.Equal(2, _account.State.Open.Count);

        // A refused single job was seen (it is listed among the tenant's jobs); a refused group never existed.
        Assert.Equal(["a", "b", "c"], _account.TakeUnsavedJobIds());
    }

    [Fact]
    public void A_group_is_checked_as_one_request_and_reserves_each_job()
    {
        AdmissionRequest[] group = [new("a", "m", 5, 5), new("b", "m", 5, 5)];
        var admitted = _account.AdmitGroup(group, new AdmissionRequest("a", "m", 10, 10));
        Assert.True(admitted is { Admitted: true, Result.Reserved: 20 });
        Assert.Equal(["a", "b"], _account.State.Open.Keys.Order());
        Assert.Equal(TenantTestKit.Roomy.RequestsPerMinute - 1, _account.State.Requests.AvailableAt(TenantTestKit.Roomy.RequestsPerMinute, T0));

        var repeat = _account.AdmitGroup(group, new AdmissionRequest("a", "m", 10, 10));
        Assert.True(repeat is { Admitted: false, Result: { Admitted: true, Reserved: 20 } });
    }

    [Fact]
    public void Jobs_the_store_says_were_settled_long_ago_are_refused_even_after_a_reset()
    {
        _account.RefuseSettledLongAgo(["old"]);
        _account.Reset(_account.State);
        Assert.Throws<JobAlreadySettledException>(() => _account.Admit(new AdmissionRequest("old", "m", 1, 1)));
        Assert.Throws<JobAlreadySettledException>(() => _account.AdmitGroup([new("x", "m", 1, 1), new("old", "m", 1, 1)], new AdmissionRequest("x", "m", 2, 2)));
        Assert.Empty(_account.State.Open);
    }

    [Fact]
    public void A_new_period_clears_the_charges_and_is_reported()
    {
        Assert.True(_account.Admit(new AdmissionRequest("a", "m", 1, 1)).Admitted);
        _account.Settle(new SettlementRequest("a", 1, 1, JobOutcome.Completed));
        Assert.Empty(_resets);

        _time.Advance(TimeSpan.FromHours(2));
        Assert.True(_account.Admit(new AdmissionRequest("b", "m", 1, 1)).Admitted);
        Assert.Equal([(new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero), 2L)], _resets);
        Assert.Equal((0L, 2L), (_account.State.Charged, _account.State.Reserved));
    }

    [Fact]
    public void A_key_is_revoked_once_and_keeps_its_first_revocation_time()
    {
        var info = new ApiKeyInfo("k1", "t", "ci", "tg-abc", T0, null);
        _account.AddKey(new StoredApiKey("hash", info));
        Assert.Equal((null, false), _account.RevokeKey("unknown"));

        _time.Advance(TimeSpan.FromMinutes(1));
        var (revoked, first) = _account.RevokeKey("k1");
        Assert.True(first);
        Assert.Equal(T0.AddMinutes(1), revoked!.Info.RevokedAt);

        _time.Advance(TimeSpan.FromMinutes(1));
        var (again, second) = _account.RevokeKey("k1");
        Assert.False(second);
        Assert.Equal(T0.AddMinutes(1), again!.Info.RevokedAt);
    }

    [Fact]
    public void A_tenant_that_does_not_exist_refuses_without_changing_anything()
    {
        var missing = new TenantAccount("none", _time, (_, _) => { });
        var refused = missing.RefuseMissing(new AdmissionRequest("a", "m", 1, 1));
        Assert.Equal(AdmissionRejection.TenantDisabled, refused.Refusal?.Reason);
        Assert.False(refused.Result.Admitted);
        Assert.Throws<TenantNotFoundException>(() => missing.RequireTenant());
        Assert.Throws<TenantNotFoundException>(() => missing.AddKey(new StoredApiKey("h", new ApiKeyInfo("k", "none", "n", "p", T0, null))));
        Assert.Empty(missing.TakeUnsavedLines());
    }
}
