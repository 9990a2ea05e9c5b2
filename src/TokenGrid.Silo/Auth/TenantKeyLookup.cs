using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.ApiKeys;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// Resolves tenant keys through their <see cref="IApiKeyGrain"/>, so that a flood of wrong keys stays cheap. A key no
/// one was issued costs a grain activation and a read of its state from the database each time it is looked up, so:
/// <list type="bullet">
/// <item>the hashes of keys that failed lately (wrong or revoked) are remembered, and such a key sent again is refused
/// without a lookup: at most <see cref="ApiOptions.FailedKeyCacheSize"/> hashes, each for
/// <see cref="ApiOptions.FailedKeyCacheLifetime"/> (a <see cref="MemoryCache"/> with a size limit; while it is full,
/// further failures are looked up every time until it has compacted);</item>
/// <item>requests with the same key at the same time share one lookup.</item>
/// </list>
/// A key that resolves is never remembered, so revoking a key takes effect with the next lookup. The lifetime only
/// delays a hash that becomes a key after it failed, which an issued key's random secret never does (the configured
/// demo key can, when tried before the demo tenant exists).
/// </summary>
internal sealed class TenantKeyLookup : IDisposable
{
    private readonly IGrainFactory _grains;
    private readonly MemoryCache? _failed;
    private readonly MemoryCacheEntryOptions _entry;
    private readonly ConcurrentDictionary<string, Lazy<Task<ApiKeyInfo?>>> _inFlight = new(StringComparer.Ordinal);

    public TenantKeyLookup(IGrainFactory grains, IOptions<ApiOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _grains = grains;
        var api = options.Value;
        _failed = api.FailedKeyCacheSize == 0 ? null : new MemoryCache(new MemoryCacheOptions { SizeLimit = api.FailedKeyCacheSize });
        _entry = new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = api.FailedKeyCacheLifetime };
    }

    /// <summary>How many failed key hashes are remembered now.</summary>
    public int FailedCount => _failed?.Count ?? 0;

    /// <summary>The key <paramref name="secret"/> when it exists and is not revoked, else null.</summary>
    public async Task<ApiKeyInfo?> ResolveAsync(string secret)
    {
        var hash = ApiKeyHash.Hash(secret);
        if (_failed?.TryGetValue(hash, out _) == true)
        {
            return null;
        }

        var lookup = _inFlight.GetOrAdd(hash, h => new Lazy<Task<ApiKeyInfo?>>(() => _grains.GetGrain<IApiKeyGrain>(h).ResolveAsync()));
        try
        {
            var key = await lookup.Value;
            if (key is null)
            {
                _failed?.Set(hash, true, _entry);
            }

            return key;
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, Lazy<Task<ApiKeyInfo?>>>(hash, lookup));
        }
    }

    public void Dispose() => _failed?.Dispose();
}
