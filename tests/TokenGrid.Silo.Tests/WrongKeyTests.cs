using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Grains.ApiKeys;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// What a wrong tenant key costs the silo: a key that just failed is refused without another lookup, and requests
/// with the same key at once share one.
/// </summary>
public sealed class WrongKeyTests
{
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
