using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

public sealed partial class TenantGrain
{
    /// <summary>The largest page <see cref="GetLedgerAsync"/> and <see cref="ListJobIdsAsync"/> return.</summary>
    public const int MaxPageSize = 1000;

    /// <inheritdoc/>
    public Task<RateLimitSnapshot> GetRateLimitsAsync()
    {
        RequireTenant();
        return Task.FromResult(TenantViews.Limits(State, timeProvider.GetUtcNow()));
    }

    /// <inheritdoc/>
    public Task<TenantUsage> GetUsageAsync()
    {
        RequireTenant();
        return Task.FromResult(TenantViews.Usage(State, timeProvider.GetUtcNow()));
    }

    /// <inheritdoc/>
    public Task<LedgerPage> GetLedgerAsync(long afterSequence, int limit)
    {
        RequireTenant();
        CheckPageSize(limit);
        return ledger.ReadAsync(TenantId, Math.Max(0, afterSequence), limit);
    }

    /// <inheritdoc/>
    /// <remarks>An unknown cursor yields an empty page.</remarks>
    public Task<IReadOnlyList<string>> ListJobIdsAsync(string? beforeJobId, int limit)
    {
        RequireTenant();
        CheckPageSize(limit);
        return jobIndex.ListAsync(TenantId, beforeJobId, limit);
    }

    private static void CheckPageSize(int limit)
    {
        if (limit is < 1 or > MaxPageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"limit must be between 1 and {MaxPageSize}.");
        }
    }
}
