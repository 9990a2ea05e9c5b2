using TokenGrid.Abstractions.Responses;
using TokenGrid.Grains.Tests.Billing;

namespace TokenGrid.Grains.Tests.Responses;

/// <summary>
/// A stored response grain keeps a response for its tenant only, across reactivation (grain storage), and answers as if
/// it were missing once its <see cref="StoredResponse.KeepUntil"/> has passed (on the grains' fake clock), and is deleted
/// by its tenant only.
/// </summary>
public sealed class StoredResponseGrainTests(SubsidyClusterFixture fixture) : IClassFixture<SubsidyClusterFixture>
{
    private static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    [Fact]
    public async Task A_stored_response_is_its_tenants_only_survives_reactivation_and_expires_on_read_after_retention()
    {
        var id = "resp_" + Guid.NewGuid().ToString("N")[..24];
        var grain = fixture.Client.GetGrain<IStoredResponseGrain>(id);
        var stored = new StoredResponse("tenant-a", fixture.Time.GetUtcNow(), """{"id":"x"}""", fixture.Time.GetUtcNow() + Retention);
        await grain.StoreAsync(stored);

        Assert.Equal(stored, await grain.GetAsync("tenant-a"));
        Assert.Null(await grain.GetAsync("tenant-b"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => grain.StoreAsync(stored with { TenantId = "tenant-b" }));
        Assert.Null(await fixture.Client.GetGrain<IStoredResponseGrain>("resp_" + new string('0', 24)).GetAsync("tenant-a"));

        // Kept in grain storage: a new activation reads it back.
        await fixture.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(stored, await grain.GetAsync("tenant-a"));

        fixture.Time.Advance(Retention - TimeSpan.FromSeconds(1));
        Assert.Equal(stored, await grain.GetAsync("tenant-a"));
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await grain.GetAsync("tenant-a"));
        Assert.False(await grain.DeleteAsync("tenant-a"));
    }

    [Fact]
    public async Task Only_its_tenant_deletes_a_stored_response_and_then_it_is_gone_after_reactivation_too()
    {
        var grain = fixture.Client.GetGrain<IStoredResponseGrain>("resp_" + Guid.NewGuid().ToString("N")[..24]);
        var stored = new StoredResponse("tenant-a", fixture.Time.GetUtcNow(), """{"id":"x"}""", fixture.Time.GetUtcNow() + Retention);
        await grain.StoreAsync(stored);

        Assert.False(await grain.DeleteAsync("tenant-b"));
        Assert.Equal(stored, await grain.GetAsync("tenant-a"));
        Assert.True(await grain.DeleteAsync("tenant-a"));
        Assert.Null(await grain.GetAsync("tenant-a"));
        await fixture.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Null(await grain.GetAsync("tenant-a"));
        Assert.False(await grain.DeleteAsync("tenant-a"));
    }
}
