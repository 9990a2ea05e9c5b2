using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tests.Billing;

/// <summary>Priced charge lines built the way settlement prices them (list, plan discount, subsidy, tenant share).</summary>
internal static class PricedEntries
{
    /// <summary>
    /// A charge of <paramref name="prompt"/> and <paramref name="completion"/> tokens at the given prices per million,
    /// with a discount and a subsidy share in basis points, created in <paramref name="region"/>.
    /// </summary>
    public static LedgerEntry Charge(
        string tenant, long sequence, DateTimeOffset at, long prompt, long completion, string promptPrice = "0.15", string completionPrice = "0.60",
        string model = "demo", string? region = "north", int discountBps = 0, int subsidyBps = 0, int version = 1)
    {
        var lines = new[] { Line(TokenDirection.Prompt, prompt, promptPrice, discountBps, subsidyBps), Line(TokenDirection.Completion, completion, completionPrice, discountBps, subsidyBps) };
        var charge = new PricedCharge(
            version, "USD", subsidyBps > 0 ? "public-sector" : null, new CreationPlace("silo-1/cpu0", "silo-1", region), "south", lines);
        return new LedgerEntry(
            sequence, at, tenant, $"job-{sequence}", model, LedgerEntryKind.Charge, prompt + completion, 1_000_000_000, 0, 0, 1_000_000_000,
            prompt, completion, charge.Tenant.Micros, 0, 0, charge);
    }

    public static PricedLine Line(TokenDirection direction, long tokens, string price, int discountBps, int subsidyBps)
    {
        Assert.True(Money.TryParse(price, out var perMillion));
        var list = Pricing.Amount(tokens, perMillion);
        var discount = Pricing.Share(list, discountBps);
        var subsidy = Pricing.Share(list - discount, subsidyBps);
        return new PricedLine(direction, tokens, perMillion, list, discount, subsidy, list - discount - subsidy);
    }
}
