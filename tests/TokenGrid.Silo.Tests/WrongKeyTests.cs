using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Grains.ApiKeys;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// What a wrong tenant key costs the silo. A flood of them (measured: 100,000 distinct keys at about 800 a second on
/// two postgres silos) must neither leave memory behind per key nor repeat the lookup of a key that just failed.
/// </summary>
public sealed class WrongKeyTests
{
    [Fact]
    public async Task Distinct_wrong_keys_leave_no_key_grain_activation_behind()
    {
        await using var server = await TokenGridServer.StartAsync();
        var (_, goodKey) = await server.CreateTenantAsync();
        var wrongKeys = Enumerable.Range(0, 20).Select(_ => "tg-" + Guid.NewGuid().ToString("N")).ToList();
        foreach (var key in wrongKeys)
        {
            using var client = server.Client(key);
            await (await client.GetAsync("v1/models")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        }

        using (var good = server.Client(goodKey))
        {
            Assert.Equal(HttpStatusCode.OK, (await good.GetAsync("v1/models")).StatusCode);
        }

        // Orleans' idle collection takes far longer than this test: an activation that went was ended by its grain.
        var wrongHashes = wrongKeys.Select(ApiKeyHash.Hash).ToHashSet(StringComparer.Ordinal);
        var left = await PollAsync(() => ApiKeyActivationsAsync(server), active => !active.Overlaps(wrongHashes), TimeSpan.FromSeconds(30));
        Assert.False(left.Overlaps(wrongHashes), $"{left.Count(wrongHashes.Contains)} of {wrongHashes.Count} wrong keys' activations stayed");

        // The good key's grain stays, and the key goes on working.
        Assert.Contains(ApiKeyHash.Hash(goodKey), left);
        using var again = server.Client(goodKey);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("v1/models")).StatusCode);
    }

    [Fact]
    public async Task A_wrong_or_revoked_key_sent_again_is_refused_without_another_lookup()
    {
        var lookups = new KeyLookups();
        await using var server = await TokenGridServer.StartAsync(services: services => services.AddSingleton<IIncomingGrainCallFilter>(lookups));
        var wrongKey = "tg-" + Guid.NewGuid().ToString("N");
        using (var wrong = server.Client(wrongKey))
        {
            for (var i = 0; i < 10; i++)
            {
                await (await wrong.GetAsync("v1/models")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
            }
        }

        Assert.Equal(1, lookups.Of(wrongKey));

        // A valid key is looked up every time, so its revocation takes effect at the next request; then it is refused
        // from the cache like any wrong key.
        var (tenant, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("v1/models")).StatusCode);
        }

        Assert.Equal(3, lookups.Of(key));
        using var admin = server.Client(TokenGridServer.AdminKey);
        var keyId = (await (await admin.GetAsync($"admin/tenants/{tenant}/keys")).ReadJsonAsync())["data"]![0]!["key_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"admin/tenants/{tenant}/keys/{keyId}")).StatusCode);
        for (var i = 0; i < 5; i++)
        {
            await (await client.GetAsync("v1/models")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        }

        Assert.Equal(4, lookups.Of(key));
    }

    [Fact]
    public async Task Requests_with_the_same_wrong_key_at_once_share_one_lookup()
    {
        // Each lookup of a key no one was issued ends its grain's activation, so separate concurrent lookups of one hash
        // were forwarded from one ending activation to the next until Orleans gave up on them (503).
        var wrongKey = "tg-" + Guid.NewGuid().ToString("N");
        var lookups = new KeyLookups(holdFirstLookupOf: ApiKeyHash.Hash(wrongKey));
        await using var server = await TokenGridServer.StartAsync(services: services => services.AddSingleton<IIncomingGrainCallFilter>(lookups));
        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            using var client = server.Client(wrongKey);
            return await client.GetAsync("v1/models");
        }));

        foreach (var response in responses)
        {
            await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        }

        Assert.Equal(1, lookups.Of(wrongKey));
    }

    [Fact]
    public async Task The_failed_key_cache_holds_at_most_its_size_and_can_be_turned_off()
    {
        await using var server = await TokenGridServer.StartAsync(new Dictionary<string, string> { ["TokenGrid:Api:FailedKeyCacheSize"] = "5" });
        var lookup = server.Services.GetRequiredService<TenantKeyLookup>();
        for (var i = 0; i < 12; i++)
        {
            using var client = server.Client("tg-" + Guid.NewGuid().ToString("N"));
            await (await client.GetAsync("v1/models")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        }

        Assert.InRange(lookup.FailedCount, 1, 5);

        var lookups = new KeyLookups();
        await using var off = await TokenGridServer.StartAsync(
            new Dictionary<string, string> { ["TokenGrid:Api:FailedKeyCacheSize"] = "0" }, services: services => services.AddSingleton<IIncomingGrainCallFilter>(lookups));
        using var wrong = off.Client("tg-" + Guid.NewGuid().ToString("N"));
        for (var i = 0; i < 3; i++)
        {
            await (await wrong.GetAsync("v1/models")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        }

        Assert.Equal(0, off.Services.GetRequiredService<TenantKeyLookup>().FailedCount);
        Assert.Equal(3, lookups.Total);
    }

    private static async Task<HashSet<string>> ApiKeyActivationsAsync(TokenGridServer server)
    {
        var activations = await server.Grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        return activations.Where(a => a.GrainId.Type.ToString() == "apikey").Select(a => a.GrainId.Key.ToString()!).ToHashSet(StringComparer.Ordinal);
    }

    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var value = await read();
            if (done(value) || deadline.IsCancellationRequested)
            {
                return value;
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }

    /// <summary>
    /// Counts the lookups (<c>ResolveAsync</c>) that reach each API key grain. The first lookup of
    /// <c>holdFirstLookupOf</c> waits until a second one of that hash arrives (at most two seconds), so that requests
    /// sent together are still in flight together.
    /// </summary>
    private sealed class KeyLookups(string? holdFirstLookupOf = null) : IIncomingGrainCallFilter
    {
        private readonly ConcurrentDictionary<string, int> _lookups = new(StringComparer.Ordinal);
        private readonly TaskCompletionSource _second = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _heldSeen;

        public int Total => _lookups.Values.Sum();

        public int Of(string key) => _lookups.GetValueOrDefault(ApiKeyHash.Hash(key));

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            var id = context.TargetContext.GrainId;
            var isLookup = id.Type.ToString() == "apikey" && context.MethodName == "ResolveAsync";
            if (isLookup && id.Key.ToString() == holdFirstLookupOf)
            {
                if (Interlocked.Increment(ref _heldSeen) == 1)
                {
                    await Task.WhenAny(_second.Task, Task.Delay(TimeSpan.FromSeconds(2)));
                }
                else
                {
                    _second.TrySetResult();
                }
            }

            await context.Invoke();
            if (isLookup)
            {
                _lookups.AddOrUpdate(id.Key.ToString()!, 1, (_, n) => n + 1);
            }
        }
    }
}
