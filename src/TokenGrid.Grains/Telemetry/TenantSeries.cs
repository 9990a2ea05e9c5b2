namespace TokenGrid.Grains.Telemetry;

/// <summary>
/// The tenants whose budgets are published, bounded whatever the number of tenants: the listed ones, the heaviest users,
/// and the tenants near a limit (<see cref="IsNearLimit"/>), which the budget and spend alerts are about however little
/// they use. Each kind has its own bounded set of candidates (when a set is full, a newcomer replaces the weakest
/// candidate, the lightest or the farthest from its limit, if it is at least as strong). Charged tokens only grow within
/// a period, so the heaviest users stay among the candidates, as do the tenants closest to a limit. Thread-safe.
/// </summary>
internal sealed class TenantSeries(TenantSeriesOptions options, TimeProvider timeProvider)
{
    /// <summary>Near the quota: less than this share of it remains (the budget alert fires under 10 %).</summary>
    public const double NearQuotaRemainingShare = 0.2;

    /// <summary>Near the spend cap: at least this share of it spent (the lowest spend threshold; the alerts fire at 80 and 100 %).</summary>
    public const double NearSpendShare = 0.5;

    private readonly Lock _lock = new();
    private readonly HashSet<string> _listed = new(options.Tenants, StringComparer.Ordinal);
    private readonly Dictionary<string, TenantBudgetSample> _tracked = new(StringComparer.Ordinal);

    /// <summary>Whether a tenant is near its quota or its spend cap, so the alerts need its series.</summary>
    public static bool IsNearLimit(TenantBudgetSample sample) =>
        (sample.Quota > 0 && sample.Remaining < NearQuotaRemainingShare * sample.Quota)
        || (sample.SpendCap > 0 && (sample.SpendCapReached || sample.SpendCharged >= NearSpendShare * sample.SpendCap));

    /// <summary>How close a tenant is to its nearest limit: the larger share used of its quota and of its spend cap.</summary>
    private static double Closeness(TenantBudgetSample sample) => Math.Max(
        sample.Quota > 0 ? 1 - ((double)sample.Remaining / sample.Quota) : 0,
        sample.SpendCap > 0 ? (sample.SpendCapReached ? 1 : (double)sample.SpendCharged / sample.SpendCap) : 0);

    /// <summary>Candidates of a kind kept besides the listed tenants: a few times the published number, so ranks can change.</summary>
    private static int CandidateCapacity(int published) => published == 0 ? 0 : Math.Max(4 * published, 32);

    /// <summary>Records a tenant's budget now.</summary>
    public void Update(TenantBudgetSample sample)
    {
        lock (_lock)
        {
            var now = timeProvider.GetUtcNow();
            sample = sample with { UpdatedAt = now };
            _tracked[sample.Tenant] = sample;
            if (_listed.Contains(sample.Tenant))
            {
                return;
            }

            // A tenant may have changed kind with this sample: keep both sets within their bounds.
            Trim(nearLimit: false, sample.Tenant, now);
            Trim(nearLimit: true, sample.Tenant, now);
        }
    }

    /// <summary>
    /// The budgets to publish: every listed tenant seen, the top N others by tokens charged, then up to
    /// <see cref="TenantSeriesOptions.NearLimit"/> more that are near a limit, the closest first.
    /// </summary>
    public List<TenantBudgetSample> Published()
    {
        lock (_lock)
        {
            ExpireIdle(timeProvider.GetUtcNow());
            var listed = _tracked.Values.Where(t => _listed.Contains(t.Tenant)).ToList();
            var top = _tracked.Values.Where(t => !_listed.Contains(t.Tenant))
                .OrderByDescending(t => t.Charged).ThenBy(t => t.Tenant, StringComparer.Ordinal)
                .Take(options.TopN).ToList();
            var published = listed.Concat(top).Select(t => t.Tenant).ToHashSet(StringComparer.Ordinal);
            var near = _tracked.Values.Where(t => !published.Contains(t.Tenant) && IsNearLimit(t))
                .OrderByDescending(Closeness).ThenBy(t => t.Tenant, StringComparer.Ordinal)
                .Take(options.NearLimit);
            return [.. listed, .. top, .. near];
        }
    }

    /// <summary>
    /// Drops the weakest unlisted candidates of a kind while there are more than its capacity: idle ones first, then the
    /// lightest (or farthest from a limit), <paramref name="newcomer"/> last among equals.
    /// </summary>
    private void Trim(bool nearLimit, string newcomer, DateTimeOffset now)
    {
        var capacity = CandidateCapacity(nearLimit ? options.NearLimit : options.TopN);
        if (Candidates(nearLimit).Count() <= capacity)
        {
            return;
        }

        ExpireIdle(now);
        foreach (var weakest in Candidates(nearLimit)
            .OrderBy(t => nearLimit ? Closeness(t) : t.Charged).ThenBy(t => t.Tenant == newcomer ? 1 : 0)
            .Take(Math.Max(0, Candidates(nearLimit).Count() - capacity)).ToList())
        {
            _tracked.Remove(weakest.Tenant);
        }
    }

    private IEnumerable<TenantBudgetSample> Candidates(bool nearLimit) =>
        _tracked.Values.Where(t => !_listed.Contains(t.Tenant) && IsNearLimit(t) == nearLimit);

    private void ExpireIdle(DateTimeOffset now)
    {
        foreach (var idle in _tracked.Values.Where(t => now - t.UpdatedAt > options.IdleLifetime).Select(t => t.Tenant).ToList())
        {
            _tracked.Remove(idle);
        }
    }
}

/// <summary>A tenant's period budget at one moment.</summary>
/// <param name="Tenant">Tenant id.</param>
/// <param name="Quota">Tokens the period allows.</param>
/// <param name="Charged">Tokens charged this period.</param>
/// <param name="Reserved">Tokens held by open reservations.</param>
/// <param name="UpdatedAt">When it was recorded (set by <see cref="TenantSeries"/>).</param>
/// <param name="SpendCharged">Micros charged this period (the tenant's share).</param>
/// <param name="SpendCap">The period's spend cap in micros (0: none).</param>
/// <param name="SpendCapReached">Whether the spend cap is reached this period (see <c>TenantState.SpendCapReached</c>).</param>
public readonly record struct TenantBudgetSample(
    string Tenant, long Quota, long Charged, long Reserved, DateTimeOffset UpdatedAt = default, long SpendCharged = 0, long SpendCap = 0, bool SpendCapReached = false)
{
    /// <summary>Tokens that may still be reserved this period: quota − charged − reserved.</summary>
    public long Remaining => Quota - Charged - Reserved;
}
