namespace TokenGrid.Abstractions.Billing;

/// <summary>
/// Where a job's tokens were created: the node that finished it, its silo and its <c>region</c> label (null when the
/// node has none). A job that failed over mid-run is attributed to the node that finished it.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.CreationPlace")]
public sealed record CreationPlace([property: Id(0)] string NodeId, [property: Id(1)] string Silo, [property: Id(2)] string? Region);

/// <summary>
/// One direction of a priced charge: <see cref="Tokens"/> at <see cref="UnitPrice"/> (list, per million tokens) make
/// <see cref="List"/>; <c>List = Discount + Subsidy + Tenant</c> exactly (see <see cref="Pricing"/>). A negotiated
/// price above list shows as a negative discount.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.PricedLine")]
public sealed record PricedLine(
    [property: Id(0)] TokenDirection Direction,
    [property: Id(1)] long Tokens,
    [property: Id(2)] Money UnitPrice,
    [property: Id(3)] Money List,
    [property: Id(4)] Money Discount,
    [property: Id(5)] Money Subsidy,
    [property: Id(6)] Money Tenant)
{
    /// <summary>What the line costs after the plan: the subsidy's and the tenant's shares together.</summary>
    public Money Due => Subsidy + Tenant;
}

/// <summary>
/// A charge in money: the rate card version and currency the job was admitted under, the subsidy program that paid a
/// share (if any), where the tokens were created and the tenant's home region, and one <see cref="PricedLine"/> per
/// direction (prompt first).
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.PricedCharge")]
public sealed record PricedCharge(
    [property: Id(0)] int PriceVersion,
    [property: Id(1)] string Currency,
    [property: Id(2)] string? ProgramId,
    [property: Id(3)] CreationPlace? Place,
    [property: Id(4)] string? HomeRegion,
    [property: Id(5)] IReadOnlyList<PricedLine> Lines)
{
    /// <summary>The tenant's share over every line.</summary>
    public Money Tenant => Sum(static line => line.Tenant);

    /// <summary>The program's share over every line.</summary>
    public Money Subsidy => Sum(static line => line.Subsidy);

    /// <summary>One share summed over the lines, by index: no enumerator is allocated on the settlement path.</summary>
    private Money Sum(Func<PricedLine, Money> share)
    {
        var sum = Money.Zero;
        for (var i = 0; i < Lines.Count; i++)
        {
            sum += share(Lines[i]);
        }

        return sum;
    }
}
