using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Abstractions.Tenants;

/// <summary>How often a tenant's token quota starts over (at midnight UTC, or the first of the month UTC).</summary>
public enum QuotaPeriod
{
    /// <summary>Every day at 00:00 UTC.</summary>
    Daily,

    /// <summary>On the first of every month at 00:00 UTC.</summary>
    Monthly,
}

/// <summary>Where a tenant's priced jobs should run among the nodes its labels allow.</summary>
public enum PlacementPreference
{
    /// <summary>Wherever the scheduler places them first.</summary>
    Any,

    /// <summary>Preferably in the region with the lowest price for the model, within a bound on the extra wait.</summary>
    Cheapest,
}

/// <summary>Scheduling class of a tenant's jobs: higher classes are served first when nodes are contended.</summary>
public enum PriorityClass
{
    /// <summary>Batch work that may wait.</summary>
    Low,

    /// <summary>The default.</summary>
    Standard,

    /// <summary>Latency-sensitive work.</summary>
    High,
}

/// <summary>What a tenant may spend. Every limit is enforced cluster-wide by the tenant's one grain.</summary>
[GenerateSerializer, Immutable, Alias("tg.TenantBudget")]
public sealed record TenantBudget
{
    /// <summary>Token bucket capacity, refilled evenly over a minute; admission takes prompt + max tokens. Default: 100000.</summary>
    [Id(0)] public long TokensPerMinute { get; init; } = 100_000;

    /// <summary>Request bucket capacity, refilled evenly over a minute. Default: 600.</summary>
    [Id(1)] public int RequestsPerMinute { get; init; } = 600;

    /// <summary>Jobs admitted and not yet settled. Default: 16.</summary>
    [Id(2)] public int MaxConcurrentJobs { get; init; } = 16;

    /// <summary>Tokens that may be charged per <see cref="Period"/>. Default: 10000000.</summary>
    [Id(3)] public long PeriodQuota { get; init; } = 10_000_000;

    /// <summary>How often <see cref="PeriodQuota"/> starts over. Default: <see cref="QuotaPeriod.Monthly"/>.</summary>
    [Id(4)] public QuotaPeriod Period { get; init; } = QuotaPeriod.Monthly;

    /// <summary>Priority class. Default: <see cref="PriorityClass.Standard"/>.</summary>
    [Id(5)] public PriorityClass Priority { get; init; } = PriorityClass.Standard;

    /// <summary>Fair-share weight among tenants of one class, by tokens. Default: 1.</summary>
    [Id(6)] public int Weight { get; init; } = 1;

    /// <summary>
    /// Node labels every node running this tenant's jobs must carry (for example <c>{"region": "west"}</c> for data
    /// residency, or a dedicated pool). Empty: any node. Default: empty.
    /// </summary>
    [Id(7)] public IReadOnlyDictionary<string, string> RequiredLabels { get; init; } = Labels.None;

    /// <summary>
    /// Most the tenant may owe per <see cref="Period"/>, in the rate card's currency (its share: after its plan and any
    /// subsidy). Admission reserves a request's most possible cost against it. Null: no cap. Default: null.
    /// </summary>
    [Id(8)] public Money? SpendCap { get; init; }

    /// <summary>How the tenant's prices relate to the rate card. Default: <see cref="TenantPlan.List"/>.</summary>
    [Id(9)] public TenantPlan Plan { get; init; } = TenantPlan.List;

    /// <summary>The subsidy program the tenant is enrolled in, or null. Default: null.</summary>
    [Id(10)] public string? SubsidyProgram { get; init; }

    /// <summary>The region the tenant's demand comes from, for the oversight views' flows; null when not set. Default: null.</summary>
    [Id(11)] public string? HomeRegion { get; init; }

    /// <summary>
    /// Where among the nodes its labels allow the tenant's priced jobs should run: anywhere (the scheduler's choice), or
    /// preferably in the region with the lowest price for the model. Default: <see cref="PlacementPreference.Any"/>.
    /// </summary>
    [Id(12)] public PlacementPreference Placement { get; init; } = PlacementPreference.Any;

    /// <summary>
    /// With <see cref="PlacementPreference.Cheapest"/>: how much longer than on the quickest eligible node a job may be
    /// expected to wait for a cheaper one. Default: 5 seconds.
    /// </summary>
    [Id(13)] public TimeSpan CheapestMaxExtraWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The prefix cache scope the tenant opts into: every tenant given the same name shares cached prompt prefixes (a
    /// public system prompt, say), and so may learn from timing which prompts the others sent. Null (the default): the
    /// tenant's own scope, which no other tenant's prompt ever hits.
    /// </summary>
    [Id(14)] public string? PrefixCacheScope { get; init; }

    /// <summary>Value equality, with <see cref="RequiredLabels"/> compared by content.</summary>
    public bool Equals(TenantBudget? other) =>
        other is not null && TokensPerMinute == other.TokensPerMinute && RequestsPerMinute == other.RequestsPerMinute
        && MaxConcurrentJobs == other.MaxConcurrentJobs && PeriodQuota == other.PeriodQuota && Period == other.Period
        && Priority == other.Priority && Weight == other.Weight && Labels.SetEquals(RequiredLabels, other.RequiredLabels)
        && SpendCap == other.SpendCap && Equals(Plan, other.Plan) && SubsidyProgram == other.SubsidyProgram && HomeRegion == other.HomeRegion
        && Placement == other.Placement && CheapestMaxExtraWait == other.CheapestMaxExtraWait && PrefixCacheScope == other.PrefixCacheScope;

    /// <inheritdoc/>
    public override int GetHashCode() =>
        HashCode.Combine(
            HashCode.Combine(TokensPerMinute, RequestsPerMinute, MaxConcurrentJobs, PeriodQuota, Period, Priority, Weight, Labels.SetHash(RequiredLabels)),
            SpendCap, Plan, SubsidyProgram, HomeRegion, Placement, HashCode.Combine(CheapestMaxExtraWait, PrefixCacheScope));

    /// <summary>A reason this budget is invalid, or null.</summary>
    public string? Validate() =>
        TokensPerMinute < 1 ? "tokens_per_minute must be at least 1."
        : RequestsPerMinute < 1 ? "requests_per_minute must be at least 1."
        : MaxConcurrentJobs < 1 ? "max_concurrent_jobs must be at least 1."
        : PeriodQuota < 0 ? "period_quota must not be negative."
        : Weight is < 1 or > 10_000 ? "weight must be between 1 and 10000."
        : !Enum.IsDefined(Period) ? "period must be daily or monthly."
        : !Enum.IsDefined(Priority) ? "priority must be low, standard or high."
        : SpendCap is { } cap && cap < Money.Zero ? "spend_cap must not be negative."
        : Plan is null ? "plan must be set."
        : Plan.Validate() is { } plan ? plan
        : SubsidyProgram is { } program && string.IsNullOrWhiteSpace(program) ? "subsidy_program must not be blank."
        : HomeRegion is { } region && string.IsNullOrWhiteSpace(region) ? "home_region must not be blank."
        : !Enum.IsDefined(Placement) ? "placement must be any or cheapest."
        : CheapestMaxExtraWait < TimeSpan.Zero || CheapestMaxExtraWait > TimeSpan.FromHours(1) ? "cheapest_max_extra_wait must be between 0 and 1 hour."
        : PrefixCacheScope is { } scope && !IsScopeName(scope) ? "prefix_cache_scope must be 1 to 64 letters, digits, '-', '_' or '.'."
        : null;

    private static bool IsScopeName(string name) =>
        name.Length is >= 1 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}

/// <summary>What an administrator sets when creating or updating a tenant.</summary>
[GenerateSerializer, Immutable, Alias("tg.TenantSpec")]
public sealed record TenantSpec(
    [property: Id(0)] string Name,
    [property: Id(1)] TenantBudget Budget,
    [property: Id(2)] bool Enabled = true);

/// <summary>
/// A tenant as the admin API shows it. <see cref="DeletedAt"/> is set once it is deleted: it stays, disabled for good,
/// with its ledger and job records, and its id is never given to another tenant.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.TenantInfo")]
public sealed record TenantInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] TenantBudget Budget,
    [property: Id(3)] bool Enabled,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset UpdatedAt,
    [property: Id(6)] DateTimeOffset? DeletedAt = null);

/// <summary>The rate-limit figures returned in <c>x-ratelimit-*</c> headers.</summary>
[GenerateSerializer, Immutable, Alias("tg.RateLimitSnapshot")]
public sealed record RateLimitSnapshot(
    [property: Id(0)] long RequestLimit,
    [property: Id(1)] long RequestsRemaining,
    [property: Id(2)] TimeSpan RequestsReset,
    [property: Id(3)] long TokenLimit,
    [property: Id(4)] long TokensRemaining,
    [property: Id(5)] TimeSpan TokensReset);

/// <summary>Tokens used per model in the current period.</summary>
[GenerateSerializer, Immutable, Alias("tg.ModelUsage")]
public sealed record ModelUsage(
    [property: Id(0)] string Model,
    [property: Id(1)] long Requests,
    [property: Id(2)] long PromptTokens,
    [property: Id(3)] long CompletionTokens,
    [property: Id(4)] long ReservedTokens);

/// <summary>A tenant's budget position in the current period. <c>Remaining = Quota − Charged − Reserved</c>.</summary>
[GenerateSerializer, Immutable, Alias("tg.TenantUsage")]
public sealed record TenantUsage(
    [property: Id(0)] string TenantId,
    [property: Id(1)] DateTimeOffset PeriodStart,
    [property: Id(2)] DateTimeOffset PeriodEnd,
    [property: Id(3)] long Quota,
    [property: Id(4)] long Charged,
    [property: Id(5)] long Reserved,
    [property: Id(6)] long Remaining,
    [property: Id(7)] int OpenJobs,
    [property: Id(8)] IReadOnlyList<ModelUsage> Models)
{
    /// <summary>Micros of the rate card's currency the tenant was charged this period (its share).</summary>
    [Id(9)] public long SpendCharged { get; init; }

    /// <summary>Micros held by open priced jobs (the most each can cost).</summary>
    [Id(10)] public long SpendReserved { get; init; }

    /// <summary>The budget's spend cap for the period, or null.</summary>
    [Id(11)] public Money? SpendCap { get; init; }
}

/// <summary>
/// A tenant's charged spend reached <paramref name="Percent"/> of its spend cap in the period starting at
/// <paramref name="PeriodStart"/> (raised once per threshold and period: 50, 80 and 100 percent).
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.SpendThresholdEvent")]
public sealed record SpendThresholdEvent(
    [property: Id(0)] string Id,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] DateTimeOffset PeriodStart,
    [property: Id(3)] int Percent,
    [property: Id(4)] Money Spent,
    [property: Id(5)] Money Cap,
    [property: Id(6)] string Currency);

/// <summary>
/// Where a tenant's spend threshold events are posted as they are raised (<c>PUT /v1/billing/webhook</c>), signed with a
/// secret shown once when the webhook is set.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.SpendWebhook")]
public sealed record SpendWebhook([property: Id(0)] string Url, [property: Id(1)] DateTimeOffset CreatedAt);

/// <summary>A webhook just set, with its signing secret (shown this once).</summary>
[GenerateSerializer, Immutable, Alias("tg.IssuedSpendWebhook")]
public sealed record IssuedSpendWebhook([property: Id(0)] SpendWebhook Webhook, [property: Id(1)] string Secret);
