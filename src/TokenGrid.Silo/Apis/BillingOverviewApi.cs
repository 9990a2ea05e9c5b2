using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing.Statements;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// <c>GET /admin/billing/overview</c>, the dashboard's spend view (docs/billing.md "Dashboard spend view"), for the
/// auditor and admin keys and their dashboard sessions: each tenant's spend this period against its cap, each subsidy
/// program's budget burn-down, and this month's revenue per model and creation region. Read-only; amounts are decimal
/// strings with 6 places.
/// </summary>
internal static class BillingOverviewApi
{
    /// <summary>
    /// The most tenants the view lists (two grain calls each), so the view stays bounded: the largest spenders of the
    /// month first, then tenants without a priced charge this month in id order while there is room.
    /// <see cref="BillingOverviewView.TenantsNotShown"/> says how many are left out; revenue counts every tenant.
    /// </summary>
    public const int MaxTenants = 500;

    public static RouteGroupBuilder MapBillingOverviewApi(this RouteGroupBuilder billing)
    {
        billing.MapGet("/overview", GetAsync).WithTags("Admin").WithName("GetBillingOverview")
            .WithSummary("Spend per tenant against its cap, subsidy programs' burn-down, and this month's revenue per model and region.");
        return billing;
    }

    internal static async Task<Ok<BillingOverviewView>> GetAsync(IGrainFactory grains, IStatementStore statements, TimeProvider clock, CancellationToken ct)
    {
        var period = StatementPeriod.Of(clock.GetUtcNow());
        var versions = await grains.GetGrain<IRateCardGrain>(0).ListAsync();
        var allIds = await grains.GetGrain<ITenantDirectoryGrain>(0).ListAsync();

        // The month's largest spenders by the priced charges dated in it (one query over the month's charges, as the
        // revenue below), not the first tenants by id: with thousands of tenants, those are an arbitrary slice.
        var listed = allIds.ToHashSet(StringComparer.Ordinal);
        var top = await statements.TopSpendersAsync(period, MaxTenants, ct);
        var spenders = top.Top.Where(s => listed.Contains(s.TenantId)).ToList();
        var spentThisMonth = spenders.ToDictionary(s => s.TenantId, s => s.AmountDue, StringComparer.Ordinal);
        var ids = spenders.Select(s => s.TenantId)
            .Concat(allIds.Where(id => !spentThisMonth.ContainsKey(id)).Take(MaxTenants - spenders.Count))
            .ToList();

        var tenants = await Task.WhenAll(ids.Select(id => TenantAsync(grains.GetGrain<ITenantGrain>(id), spentThisMonth.GetValueOrDefault(id, Money.Zero))));
        var programIds = await grains.GetGrain<ISubsidyDirectoryGrain>(0).ListAsync();
        var programs = await Task.WhenAll(programIds.Select(id => grains.GetGrain<ISubsidyProgramGrain>(id).GetAsync()));

        // Revenue is every tenant's, from the month's flows (one query over the priced charges, which the statements
        // add up to), whatever the tenant list leaves out.
        var flows = await statements.FlowsAsync(period, ct);

        return TypedResults.Ok(new BillingOverviewView(
            versions.Count == 0 ? null : versions[^1].Currency, period.ToString(), clock.GetUtcNow(), ids.Count, allIds.Count > ids.Count,
            Math.Max(0, allIds.Count - ids.Count), top.Tenants, [.. tenants.OfType<TenantSpendView>()], [.. programs.OfType<SubsidyProgramInfo>().Select(ProgramBurnDownView.Of)], RevenueView.Of(flows)));
    }

    private static async Task<TenantSpendView?> TenantAsync(ITenantGrain tenant, Money month)
    {
        var info = await tenant.GetAsync();
        return info is null ? null : TenantSpendView.Of(info, await tenant.GetUsageAsync(), month);
    }
}

/// <summary>The spend view's figures (see <see cref="BillingOverviewApi"/>).</summary>
/// <param name="Currency">The rate card's currency (every version has the same); null before a card is published.</param>
/// <param name="Period">The current month (UTC), <c>yyyy-MM</c>, of the revenue.</param>
/// <param name="GeneratedAt">When the figures were read.</param>
/// <param name="TenantsRead">How many tenants the view read (at most <see cref="BillingOverviewApi.MaxTenants"/>).</param>
/// <param name="TenantsTruncated">True when there were more tenants than that: the tenant list leaves the rest out (revenue does not).</param>
/// <param name="TenantsNotShown">How many tenants the list leaves out (0 when it holds every tenant).</param>
/// <param name="TenantsWithSpend">How many tenants have a priced charge dated in the month.</param>
/// <param name="Tenants">
/// Each listed tenant's spend in its current budget period: the month's largest spenders first (by
/// <see cref="TenantSpendView.MonthAmountDue"/>, ties by id), then tenants without a priced charge this month, by id.
/// </param>
/// <param name="Programs">Each subsidy program's current period.</param>
/// <param name="Revenue">This month's priced tokens per model, creation region and currency, of every tenant.</param>
public sealed record BillingOverviewView(
    string? Currency, string Period, DateTimeOffset GeneratedAt, int TenantsRead, bool TenantsTruncated, int TenantsNotShown,
    int TenantsWithSpend, IReadOnlyList<TenantSpendView> Tenants, IReadOnlyList<ProgramBurnDownView> Programs, IReadOnlyList<RevenueView> Revenue)
{
    /// <summary>Always <c>billing.overview</c>.</summary>
    public string Object => "billing.overview";
}

/// <summary>
/// One tenant's spend: charged (its share of finished priced jobs) and reserved (open jobs' most possible cost) this
/// period, its cap (null: none) and the charged spend as a percentage of the cap, to 2 places (null without a cap, or
/// with a cap of 0); and what it owes for the priced charges dated in the calendar month (its statement's own lines),
/// by which the view ranks tenants.
/// </summary>
public sealed record TenantSpendView(
    string Id, string Name, bool Enabled, string SpendCharged, string SpendReserved, string? SpendCap, decimal? PercentOfCap,
    DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, string MonthAmountDue)
{
    internal static TenantSpendView Of(TenantInfo info, TenantUsage usage, Money month)
    {
        decimal? percent = usage.SpendCap is { Micros: > 0 } cap ? Math.Round(usage.SpendCharged * 100m / cap.Micros, 2, MidpointRounding.AwayFromZero) : null;
        return new(info.Id, info.Name, info.Enabled && info.DeletedAt is null, new Money(usage.SpendCharged).ToString(),
            new Money(usage.SpendReserved).ToString(), usage.SpendCap?.ToString(), percent, usage.PeriodStart, usage.PeriodEnd, month.ToString());
    }
}

/// <summary>One subsidy program's burn-down in its current period: budget = spent + reserved + remaining.</summary>
public sealed record ProgramBurnDownView(
    string Id, int ShareBps, string BudgetPerPeriod, string Spent, string Reserved, string Remaining, DateTimeOffset PeriodStart)
{
    internal static ProgramBurnDownView Of(SubsidyProgramInfo info) => new(
        info.Program.Id, info.Program.ShareBasisPoints, info.Program.BudgetPerPeriod.ToString(), info.Spent.ToString(),
        info.Reserved.ToString(), info.Remaining.ToString(), info.PeriodStart);
}

/// <summary>
/// This month's revenue for one model and creation region (null: nodes without a region label), both directions and
/// every unit price summed: <c>List = Discount + Subsidy + AmountDue</c> exactly, AmountDue being what tenants owe.
/// </summary>
public sealed record RevenueView(
    string Model, string? Region, string Currency, long Tokens, string List, string Discount, string Subsidy, string AmountDue)
{
    /// <summary>The month's flows summed per model, creation region and currency, in that order.</summary>
    internal static IReadOnlyList<RevenueView> Of(IEnumerable<FlowRow> flows) => [.. flows
        .GroupBy(f => (f.Model, f.CreationRegion, f.Currency))
        .OrderBy(g => g.Key.Model, StringComparer.Ordinal).ThenBy(g => g.Key.CreationRegion, StringComparer.Ordinal).ThenBy(g => g.Key.Currency, StringComparer.Ordinal)
        .Select(g => new RevenueView(
            g.Key.Model, g.Key.CreationRegion, g.Key.Currency, g.Sum(f => f.PromptTokens + f.CompletionTokens), Sum(g, f => f.List),
            Sum(g, f => f.Discount), Sum(g, f => f.Subsidy), Sum(g, f => f.AmountDue)))];

    private static string Sum(IEnumerable<FlowRow> flows, Func<FlowRow, Money> amount) =>
        flows.Aggregate(Money.Zero, (sum, flow) => sum + amount(flow)).ToString();
}
