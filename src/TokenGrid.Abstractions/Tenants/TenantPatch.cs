using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Abstractions.Tenants;

/// <summary>
/// A change of a tenant, applied by its grain to the tenant as it is when the change's turn comes (so concurrent
/// changes of different fields all survive): null fields keep their values. <see cref="Budget"/> replaces the whole
/// budget (<c>PUT</c>); <see cref="BudgetChanges"/> changes only the budget fields it gives (<c>PATCH</c>). At most one
/// of them is given.
/// </summary>
/// <param name="Name">The new name, or null to keep it.</param>
/// <param name="Enabled">The new switch, or null to keep it.</param>
/// <param name="Budget">The new budget, or null.</param>
/// <param name="BudgetChanges">The budget fields to change, or null.</param>
[GenerateSerializer, Immutable, Alias("tg.TenantPatch")]
public sealed record TenantPatch(
    [property: Id(0)] string? Name,
    [property: Id(1)] bool? Enabled,
    [property: Id(2)] TenantBudget? Budget = null,
    [property: Id(3)] TenantBudgetPatch? BudgetChanges = null)
{
    /// <summary>The spec of <paramref name="current"/> with this change applied.</summary>
    public TenantSpec ApplyTo(TenantInfo current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var budget = Budget ?? (BudgetChanges is { } changes ? changes.ApplyTo(current.Budget) : current.Budget);
        return new TenantSpec(Name ?? current.Name, budget, Enabled ?? current.Enabled);
    }
}

/// <summary>
/// Budget fields to change; null fields keep their values. <c>required_labels</c> sets the node labels the tenant's jobs
/// must run on (<c>{"region": "west"}</c>); an empty object lifts the restriction. <c>spend_cap</c>, <c>plan</c>,
/// <c>subsidy_program</c> and <c>home_region</c> set the tenant's billing (docs/billing.md); a PUT of the budget without
/// them removes them. <c>placement</c> (<c>any</c> or <c>cheapest</c>) and <c>cheapest_max_extra_wait</c> (a time span,
/// <c>"00:00:05"</c>, as the configuration writes them) set cost-aware placement (docs/billing.md).
/// <c>prefix_cache_scope</c> names a shared prefix cache scope the tenant opts into (1 to 64 letters, digits, <c>-</c>,
/// <c>_</c> or <c>.</c>); a PUT of the budget without it puts the tenant back in its own scope (silo-config/README.md,
/// Prefix caching).
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.TenantBudgetPatch")]
public sealed record TenantBudgetPatch(
    [property: Id(0)] long? TokensPerMinute,
    [property: Id(1)] int? RequestsPerMinute,
    [property: Id(2)] int? MaxConcurrentJobs,
    [property: Id(3)] long? PeriodQuota,
    [property: Id(4)] QuotaPeriod? Period,
    [property: Id(5)] PriorityClass? Priority,
    [property: Id(6)] int? Weight,
    [property: Id(7)] IReadOnlyDictionary<string, string>? RequiredLabels = null,
    [property: Id(8)] Money? SpendCap = null,
    [property: Id(9)] TenantPlan? Plan = null,
    [property: Id(10)] string? SubsidyProgram = null,
    [property: Id(11)] string? HomeRegion = null,
    [property: Id(12)] PlacementPreference? Placement = null,
    [property: Id(13)] TimeSpan? CheapestMaxExtraWait = null,
    [property: Id(14)] string? PrefixCacheScope = null)
{
    /// <summary><paramref name="budget"/> with this patch's fields.</summary>
    public TenantBudget ApplyTo(TenantBudget budget)
    {
        ArgumentNullException.ThrowIfNull(budget);
        return budget with
        {
            TokensPerMinute = TokensPerMinute ?? budget.TokensPerMinute,
            RequestsPerMinute = RequestsPerMinute ?? budget.RequestsPerMinute,
            MaxConcurrentJobs = MaxConcurrentJobs ?? budget.MaxConcurrentJobs,
            PeriodQuota = PeriodQuota ?? budget.PeriodQuota,
            Period = Period ?? budget.Period,
            Priority = Priority ?? budget.Priority,
            Weight = Weight ?? budget.Weight,
            RequiredLabels = RequiredLabels ?? budget.RequiredLabels,
            SpendCap = SpendCap ?? budget.SpendCap,
            Plan = Plan ?? budget.Plan,
            SubsidyProgram = SubsidyProgram ?? budget.SubsidyProgram,
            HomeRegion = HomeRegion ?? budget.HomeRegion,
            Placement = Placement ?? budget.Placement,
            CheapestMaxExtraWait = CheapestMaxExtraWait ?? budget.CheapestMaxExtraWait,
            PrefixCacheScope = PrefixCacheScope ?? budget.PrefixCacheScope,
        };
    }
}
