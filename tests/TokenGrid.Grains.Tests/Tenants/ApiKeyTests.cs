using System.Text.Json;
using Orleans.Storage;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.ApiKeys;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Tenants;

[Collection(TenantClusterCollection.Name)]
public sealed class ApiKeyTests(TenantClusterFixture fixture)
{
    [Fact]
    public async Task An_issued_key_resolves_by_the_hash_of_its_secret()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);

        var issued = await tenant.IssueKeyAsync("ci");

        Assert.Matches("^tg-[A-Za-z0-9_-]{43}$", issued.Secret);
        Assert.Matches("^key_[0-9a-f]{12}$", issued.Key.KeyId);
        Assert.Equal(issued.Secret[..7] + "…", issued.Key.Prefix);
        Assert.Equal((tenant.GetPrimaryKeyString(), "ci", fixture.Time.GetUtcNow()), (issued.Key.TenantId, issued.Key.Name, issued.Key.CreatedAt));
        Assert.Equal(issued.Key, await fixture.Grains.GetGrain<IApiKeyGrain>(ApiKeyHash.Hash(issued.Secret)).ResolveAsync());
        Assert.Null(await fixture.Grains.GetGrain<IApiKeyGrain>(ApiKeyHash.Hash(issued.Secret + "x")).ResolveAsync());
    }

    [Fact]
    public async Task A_revoked_key_stops_resolving_at_once()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        var issued = await tenant.IssueKeyAsync("ci");
        var other = await tenant.IssueKeyAsync("other");

        Assert.True(await tenant.RevokeKeyAsync(issued.Key.KeyId));

        Assert.Null(await fixture.Grains.GetGrain<IApiKeyGrain>(ApiKeyHash.Hash(issued.Secret)).ResolveAsync());
        Assert.NotNull(await fixture.Grains.GetGrain<IApiKeyGrain>(ApiKeyHash.Hash(other.Secret)).ResolveAsync());
        var listed = Assert.Single(await tenant.ListKeysAsync(), k => k.KeyId == issued.Key.KeyId);
        Assert.Equal(fixture.Time.GetUtcNow(), listed.RevokedAt);
        Assert.True(await tenant.RevokeKeyAsync(issued.Key.KeyId));
        Assert.False(await tenant.RevokeKeyAsync("key_000000000000"));
    }

    [Fact]
    public async Task A_configured_key_is_listed_once_by_its_hash_and_a_revoked_one_stays_revoked()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        var tenantId = tenant.GetPrimaryKeyString();
        var configured = new ApiKeyInfo("key_demo", tenantId, "demo (configured)", "tg-conf…", fixture.Time.GetUtcNow(), null);
        var hash = ApiKeyHash.Hash("tg-configured-0123456789");
        var keyGrain = fixture.Grains.GetGrain<IApiKeyGrain>(hash);

        // Every silo start asks, several at once: one key, bound.
        var listed = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => tenant.AddConfiguredKeyAsync(hash, configured)));
        Assert.All(listed, k => Assert.Equal(configured, k));
        Assert.Equal(configured, Assert.Single(await tenant.ListKeysAsync()));
        Assert.Equal(configured, await keyGrain.ResolveAsync());

        // Revoked, it stays revoked when asked again.
        Assert.True(await tenant.RevokeKeyAsync("key_demo"));
        var again = await tenant.AddConfiguredKeyAsync(hash, configured);
        Assert.Equal(fixture.Time.GetUtcNow(), again.RevokedAt);
        Assert.Null(await keyGrain.ResolveAsync());

        // Another configured secret (the configuration changed) is a second key, under an id of its own.
        var other = ApiKeyHash.Hash("tg-configured-other-0123456789");
        var second = await tenant.AddConfiguredKeyAsync(other, configured);
        Assert.Matches("^key_[0-9a-f]{12}$", second.KeyId);
        Assert.Equal(2, (await tenant.ListKeysAsync()).Count);
        Assert.Equal(second, await fixture.Grains.GetGrain<IApiKeyGrain>(other).ResolveAsync());

        // A deleted tenant lists a configured key revoked, and its key grain refuses it (a binding left from before too).
        var late = ApiKeyHash.Hash("tg-configured-late-0123456789");
        await fixture.Grains.GetGrain<IApiKeyGrain>(late).BindAsync(configured with { KeyId = "key_late" });
        await tenant.DeleteAsync();
        var revoked = await tenant.AddConfiguredKeyAsync(late, configured with { KeyId = "key_late" });
        Assert.NotNull(revoked.RevokedAt);
        Assert.Null(await fixture.Grains.GetGrain<IApiKeyGrain>(late).ResolveAsync());
    }

    [Fact]
    public async Task Neither_the_listing_nor_the_stored_state_holds_the_secret()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        var issued = await tenant.IssueKeyAsync("ci");
        var hash = ApiKeyHash.Hash(issued.Secret);

        var listing = JsonSerializer.Serialize(await tenant.ListKeysAsync());
        Assert.Contains(issued.Key.KeyId, listing);
        Assert.DoesNotContain(issued.Secret, listing);
        Assert.DoesNotContain(issued.Secret[7..], listing);

        var tenantState = await fixture.Store.LoadAsync(tenant.GetPrimaryKeyString());
        var stored = JsonSerializer.Serialize(tenantState!.State);
        Assert.Contains(hash, stored);
        Assert.DoesNotContain(issued.Secret[7..], stored);

        var storage = fixture.SiloService<IGrainStorage>(TokenGridStorage.Name);
        var keyState = new GrainState<ApiKeyState>();
        await storage.ReadStateAsync("apikey", fixture.Grains.GetGrain<IApiKeyGrain>(hash).GetGrainId(), keyState);
        Assert.Equal(issued.Key, keyState.State!.Key);
        Assert.DoesNotContain(issued.Secret[7..], JsonSerializer.Serialize(keyState.State));
    }

    [Fact]
    public void The_hash_is_lowercase_hex_sha256_and_verifies_in_constant_time()
    {
        // SHA-256("abc"), a published test vector.
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeyHash.Hash("abc"));
        Assert.True(ApiKeyHash.Verify("abc", ApiKeyHash.Hash("abc")));
        Assert.False(ApiKeyHash.Verify("abd", ApiKeyHash.Hash("abc")));
        Assert.False(ApiKeyHash.Verify("abc", "ba78"));
    }
}
