namespace TokenGrid.Grains.Telemetry;

/// <summary>
/// The tenants whose budgets are published, bounded whatever the number of tenants: the listed ones, and the heaviest
/// users among a bounded set of candidates (when the set is full, a newcomer replaces the lightest candidate if it has
/// used at least as much). Charged tokens only grow within a period, so the heaviest users stay among the candidates.
/// Thread-safe.
/// </summary>
internal sealed class TenantSeries(TenantSeriesOptions options, TimeProvider timeProvider)
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _listed = new(options.Tenants, StringComparer.Ordinal);
    private readonly Dictionary<string, TenantBudgetSample> _tracked = new(StringComparer.Ordinal);

    /// <summary>Candidates kept besides the listed tenants: a few times the published number, so ranks can change.</summary>
    private int CandidateCapacity => options.TopN == 0 ? 0 : Math.Max(4 * options.TopN, 32);

    /// <summary>Records a tenant's budget now.</summary>
    public void Update(TenantBudgetSample sample)
    {
        lock (_lock)
        {
            var now = timeProvider.GetUtcNow();
            sample = sample with { UpdatedAt = now };
            if (_listed.Contains(sample.Tenant) || _tracked.ContainsKey(sample.Tenant))
            {
                _tracked[sample.Tenant] = sample;
                return;
            }

            if (CandidateCapacity == 0)
            {
                return;
            }

            if (_tracked.Count - ListedTracked() >= CandidateCapacity)
            {
                ExpireIdle(now);
            }

            if (_tracked.Count - ListedTracked() >= CandidateCapacity)
            {
                var lightest = _tracked.Values.Where(t => !_listed.Contains(t.Tenant)).MinBy(t => t.Charged)!;
                if (lightest.Charged > sample.Charged)
                {
                    return;
                }

                _tracked.Remove(lightest.Tenant);
            }

            _tracked[sample.Tenant] = sample;
        }
    }

    /// <summary>The budgets to publish: every listed tenant seen, then the top N others by tokens charged.</summary>
    public List<TenantBudgetSample> Published()
    {
        lock (_lock)
        {
            ExpireIdle(timeProvider.GetUtcNow());
            var listed = _tracked.Values.Where(t => _listed.Contains(t.Tenant));
            var top = _tracked.Values.Where(t => !_listed.Contains(t.Tenant))
                .OrderByDescending(t => t.Charged).ThenBy(t => t.Tenant, StringComparer.Ordinal)
                .Take(options.TopN);
            return [.. listed.Concat(top)];
        }
    }

    private int ListedTracked() => _tracked.Keys.Count(_listed.Contains);

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
public readonly record struct TenantBudgetSample(string Tenant, long Quota, long Charged, long Reserved, DateTimeOffset UpdatedAt = default, long SpendCharged = 0, long SpendCap = 0)
{
    /// <summary>Tokens that may still be reserved this period: quota − charged − reserved.</summary>
    public long Remaining => Quota - Charged - Reserved;
}
