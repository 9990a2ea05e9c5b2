namespace TokenGrid.Abstractions.Billing;

/// <summary>What happens to a subsidy program's tenants once its budget for the period is spent.</summary>
[GenerateSerializer, Alias("tg.SubsidyExhaustion")]
public enum SubsidyExhaustion
{
    /// <summary>They pay the full (plan) price from then on.</summary>
    FullPrice,

    /// <summary>Their requests are refused until the next period.</summary>
    Refuse,
}

/// <summary>
/// A tenant's plan: list price less <paramref name="DiscountBasisPoints"/> (0-10,000), or a negotiated price per
/// million tokens for a model and direction (optionally per region), which replaces the list price (and takes no
/// discount on top). <paramref name="Negotiated"/> left out (or null) is none, as the documented default plan has.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.TenantPlan")]
public sealed record TenantPlan(
    [property: Id(0)] string Name, [property: Id(1)] int DiscountBasisPoints, IReadOnlyList<PriceEntry>? Negotiated = null)
{
    /// <summary>The negotiated prices; empty for none.</summary>
    [Id(2)] public IReadOnlyList<PriceEntry> Negotiated { get; init; } = Negotiated ?? [];

    /// <summary>The list-price plan: no discount, nothing negotiated.</summary>
    public static TenantPlan List { get; } = new("list", 0, []);

    /// <summary>Value equality, with <see cref="Negotiated"/> compared by content.</summary>
    public bool Equals(TenantPlan? other) =>
        other is not null && Name == other.Name && DiscountBasisPoints == other.DiscountBasisPoints
        && (ReferenceEquals(Negotiated, other.Negotiated) || (Negotiated is not null && other.Negotiated is not null && Negotiated.SequenceEqual(other.Negotiated)));

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, DiscountBasisPoints, Negotiated?.Count);

    /// <summary>A reason this plan is invalid, or null.</summary>
    public string? Validate() =>
        string.IsNullOrWhiteSpace(Name) ? "plan.name must not be blank."
        : Negotiated.Any(p => p is null || string.IsNullOrWhiteSpace(p.Model)) ? "plan.negotiated prices each name a model."
        : Negotiated.Any(p => !Enum.IsDefined(p.Direction)) ? "plan.negotiated directions are prompt or completion."
        : Negotiated.Any(p => p.Region is { } region && string.IsNullOrWhiteSpace(region)) ? "plan.negotiated regions must not be blank."
        : DiscountBasisPoints is < 0 or > Pricing.BasisPointsPerWhole ? "plan.discount_basis_points must be between 0 and 10000."
        : Negotiated.Any(p => p.PerMillion < Money.Zero) ? "plan.negotiated prices must not be negative."
        : Negotiated.GroupBy(p => (p.Model, p.Direction, p.Region)).Any(g => g.Count() > 1) ? "plan.negotiated prices a model, direction and region twice."
        : null;
}

/// <summary>
/// A subsidy program: it pays <paramref name="ShareBasisPoints"/> of the price its enrolled tenants owe (after their
/// plan), up to <paramref name="BudgetPerPeriod"/> per calendar month (UTC); <paramref name="OnExhausted"/> says what
/// happens after.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.SubsidyProgram")]
public sealed record SubsidyProgram(
    [property: Id(0)] string Id,
    [property: Id(1)] int ShareBasisPoints,
    [property: Id(2)] Money BudgetPerPeriod,
    [property: Id(3)] SubsidyExhaustion OnExhausted);
