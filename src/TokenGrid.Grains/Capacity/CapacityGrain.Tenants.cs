using TokenGrid.Abstractions.Capacity;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Capacity;

/// <summary>
/// The tenants' usage: checked at most once per refresh period, with a short history for recent burn rates. Only the
/// tenants saved since their last read (every budget move is a save) and those whose period has ended are asked, so an
/// idle tenant's grain is not activated again every refresh; the tenant store says which, in one query of versions.
/// </summary>
public sealed partial class CapacityGrain
{
    private readonly Dictionary<string, Queue<(DateTimeOffset At, long Charged)>> _charged = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Version, TenantUsage Usage)> _read = new(StringComparer.Ordinal);
    private IReadOnlyList<TenantUsage> _usage = [];
    private DateTimeOffset? _tenantsReadAt;

    /// <summary>Reads the usage of every tenant that changed when the last check is older than the refresh period.</summary>
    private async Task RefreshTenantsAsync(DateTimeOffset now)
    {
        if (_tenantsReadAt is { } last && now - last < Options.TenantRefreshPeriod)
        {
            return;
        }

        IReadOnlyDictionary<string, long> versions;
        try
        {
            versions = await tenantStore.VersionsAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The report shows the tenants as last read; the next report tries again.
            LogTenantVersionsFailed(logger, e);
            return;
        }

        var changed = versions
            .Where(v => !_read.TryGetValue(v.Key, out var read) || read.Version != v.Value || read.Usage.PeriodEnd <= now)
            .Select(v => v.Key)
            .ToList();
        var reads = await Task.WhenAll(changed.Select(ReadUsageAsync));
        for (var i = 0; i < changed.Count; i++)
        {
            // Read after its version: a save in between makes the next check read the tenant again.
            if (reads[i] is { } usage)
            {
                _read[changed[i]] = (versions[changed[i]], usage);
            }
        }

        foreach (var gone in _read.Keys.Where(id => !versions.ContainsKey(id)).ToList())
        {
            _read.Remove(gone);
        }

        _usage = [.. _read.Values.Select(r => r.Usage)];
        _tenantsReadAt = now;
        foreach (var gone in _charged.Keys.Where(id => !_read.ContainsKey(id)).ToList())
        {
            _charged.Remove(gone);
        }

        foreach (var usage in _usage)
        {
            if (!_charged.TryGetValue(usage.TenantId, out var history))
            {
                _charged[usage.TenantId] = history = new Queue<(DateTimeOffset, long)>();
            }

            // A new period starts from zero: earlier reads no longer compare.
            if (history.Count > 0 && history.Last().Charged > usage.Charged)
            {
                history.Clear();
            }

            history.Enqueue((now, usage.Charged));
            while (history.Count > 2 && history.ElementAt(1).At <= now - Options.RecentBurnWindow)
            {
                history.Dequeue();
            }
        }
    }

    private async Task<TenantUsage?> ReadUsageAsync(string tenantId)
    {
        try
        {
            return await GrainFactory.GetGrain<ITenantGrain>(tenantId).GetUsageAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogTenantReadFailed(logger, e, tenantId);
            return null;
        }
    }

    /// <summary>Charged tokens per second between the oldest and the newest read in the recent window; null with one read.</summary>
    private double? RecentRate(string tenantId)
    {
        if (!_charged.TryGetValue(tenantId, out var history) || history.Count < 2)
        {
            return null;
        }

        var (fromAt, fromCharged) = history.Peek();
        var (toAt, toCharged) = history.Last();
        var seconds = (toAt - fromAt).TotalSeconds;
        return seconds > 0 ? (toCharged - fromCharged) / seconds : null;
    }

    private List<TenantUsageRank> TopTenants(int top)
    {
        var total = _usage.Sum(u => u.Charged);
        return
        [
            .. _usage.OrderByDescending(u => u.Charged).ThenBy(u => u.TenantId, StringComparer.Ordinal).Take(top)
                .Select(u => new TenantUsageRank
                {
                    TenantId = u.TenantId,
                    Charged = u.Charged,
                    Reserved = u.Reserved,
                    Quota = u.Quota,
                    Remaining = u.Remaining,
                    Share = total > 0 ? (double)u.Charged / total : 0,
                    RecentTokensPerSecond = RecentRate(u.TenantId),
                    OpenJobs = u.OpenJobs,
                }),
        ];
    }

    /// <summary>
    /// Tenants whose remaining quota runs out before the period ends at their burn rate (the higher of the period's average
    /// and the recent rate), soonest first.
    /// </summary>
    private List<TenantBurnDown> BurnDown(DateTimeOffset now, int limit)
    {
        var rows = new List<TenantBurnDown>();
        foreach (var u in _usage)
        {
            var elapsed = (now - u.PeriodStart).TotalSeconds;
            var average = elapsed > 0 ? u.Charged / elapsed : 0;
            var burn = Math.Max(average, RecentRate(u.TenantId) ?? 0);
            if (u.Quota <= 0 || burn <= 0 || now >= u.PeriodEnd)
            {
                continue;
            }

            // Compared in seconds first: a large quota burnt slowly lasts past the last representable date.
            var seconds = Math.Max(0, u.Remaining) / burn;
            if (seconds >= (u.PeriodEnd - now).TotalSeconds)
            {
                continue;
            }

            var exhaustsAt = now + TimeSpan.FromSeconds(seconds);

            rows.Add(new TenantBurnDown
            {
                TenantId = u.TenantId,
                Quota = u.Quota,
                Charged = u.Charged,
                Reserved = u.Reserved,
                Remaining = u.Remaining,
                PeriodStart = u.PeriodStart,
                PeriodEnd = u.PeriodEnd,
                BurnTokensPerSecond = burn,
                ExhaustsAt = exhaustsAt,
                EarlyBySeconds = (u.PeriodEnd - exhaustsAt).TotalSeconds,
            });
        }

        return [.. rows.OrderBy(r => r.ExhaustsAt).ThenBy(r => r.TenantId, StringComparer.Ordinal).Take(limit)];
    }
}
