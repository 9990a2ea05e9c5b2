using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Silo.Tests.Billing;

/// <summary>
/// Priced charge lines built the way settlement prices them (list, plan discount, subsidy share, tenant's share, each
/// rounded once), written through a tenant store as the tenant grain writes them, until admission fills them itself.
/// </summary>
internal static class PricedLedger
{
    public const long Quota = 1_000_000_000_000;

    /// <summary>A charge line with its priced directions; the tenant's totals after it are left at 0 (the stores do not check them).</summary>
    public static LedgerEntry Charge(
        string tenant, long sequence, DateTimeOffset at, long prompt, long completion, string promptPrice = "0.15", string completionPrice = "0.60",
        string model = "demo", string? region = "north", string? home = "south", int discountBps = 0, int subsidyBps = 0, int version = 1)
    {
        var lines = new List<PricedLine>
        {
            Line(TokenDirection.Prompt, prompt, promptPrice, discountBps, subsidyBps),
            Line(TokenDirection.Completion, completion, completionPrice, discountBps, subsidyBps),
        };
        var charge = new PricedCharge(
            version, "USD", subsidyBps > 0 ? "public-sector" : null,
            region is null ? null : new CreationPlace($"silo-{region}/cpu0", $"silo-{region}", region), home, lines);
        return new LedgerEntry(
            sequence, at, tenant, $"job-{sequence}", model, LedgerEntryKind.Charge, prompt + completion, Quota, 0, 0, Quota,
            prompt, completion, charge.Tenant.Micros, 0, 0, charge);
    }

    /// <summary>
    /// <paramref name="count"/> charges of <paramref name="tenant"/> from sequence <paramref name="first"/>, at random
    /// times in [<paramref name="from"/>, <paramref name="to"/>), with random models, regions, two price versions, plan
    /// discounts and subsidies.
    /// </summary>
    public static List<LedgerEntry> Random(Random random, string tenant, long first, int count, DateTimeOffset from, DateTimeOffset to)
    {
        string?[] regions = ["north", "south", null];
        var span = (to - from).Ticks;
        var times = Enumerable.Range(0, count).Select(_ => from.AddTicks(random.NextInt64(span))).Order().ToList();
        return [.. times.Select((at, i) =>
        {
            var version = random.Next(1, 3);
            return Charge(
                tenant, first + i, at, random.Next(0, 5_000), random.Next(0, 3_000),
                version == 1 ? "0.15" : "0.123457", version == 1 ? "0.60" : "0.700001", random.Next(2) == 0 ? "demo" : "other",
                regions[random.Next(regions.Length)], random.Next(2) == 0 ? "south" : "east", random.Next(0, 3) * 1_250,
                random.Next(0, 2) * 4_000, version);
        })];
    }

    public static PricedLine Line(TokenDirection direction, long tokens, string price, int discountBps, int subsidyBps)
    {
        Assert.True(Money.TryParse(price, out var perMillion));
        var list = Pricing.Amount(tokens, perMillion);
        var discount = Pricing.Share(list, discountBps);
        var subsidy = Pricing.Share(list - discount, subsidyBps);
        return new PricedLine(direction, tokens, perMillion, list, discount, subsidy, list - discount - subsidy);
    }

    /// <summary>
    /// Appends <paramref name="lines"/> (numbered from 1 past the tenant's last line) to the tenant's ledger through the
    /// server's tenant store, as the tenant grain's next save would; returns them as numbered.
    /// </summary>
    public static async Task<List<LedgerEntry>> AppendAsync(IServiceProvider services, string tenantId, IEnumerable<LedgerEntry> lines)
    {
        var store = services.GetRequiredService<ITenantStore>();
        var stored = await store.LoadAsync(tenantId) ?? throw new InvalidOperationException($"Tenant '{tenantId}' was never saved.");
        var state = stored.State;
        var numbered = lines.Select((line, i) => line with { TenantId = tenantId, Sequence = state.LastSequence + 1 + i, JobId = $"{tenantId}-{state.LastSequence + 1 + i}" }).ToList();
        state.LastSequence += numbered.Count;
        var saved = await store.SaveAsync(new TenantSave(tenantId, state, stored.Version, numbered, []));
        Assert.True(saved.Saved);
        return numbered;
    }

    /// <summary>Whether two entries are equal, their priced lines compared by content.</summary>
    public static bool SameEntry(LedgerEntry expected, LedgerEntry actual) =>
        expected with { Priced = null } == actual with { Priced = null } && SamePriced(expected.Priced, actual.Priced);

    private static bool SamePriced(PricedCharge? expected, PricedCharge? actual) =>
        expected is null || actual is null
            ? expected is null && actual is null
            : (expected.PriceVersion, expected.Currency, expected.ProgramId, expected.Place, expected.HomeRegion)
                == (actual.PriceVersion, actual.Currency, actual.ProgramId, actual.Place, actual.HomeRegion)
              && expected.Lines.SequenceEqual(actual.Lines);
}
