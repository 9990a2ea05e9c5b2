using System.Text.Json;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Audit;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.Audit;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// The rate card under <c>/admin/prices</c>: <c>PUT</c> publishes the next version (never retroactive), <c>GET</c> lists
/// every version with the one in force marked (the auditor key may read it). Amounts are decimal strings in the card's currency (see docs/billing.md).
/// Each publication is recorded in the audit log by the card, in its turn, with the latest version before it.
/// </summary>
internal static class AdminPricesApi
{
    public static RouteGroupBuilder MapAdminPricesApi(this RouteGroupBuilder admin)
    {
        var prices = admin.MapGroup("/prices").WithTags("Admin");
        prices.MapPut("/", PublishAsync).WithName("PublishPrices").Accepts<PublishPricesRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .WithSummary("Publishes the next rate card version, in force from effective_from (default now; never in the past).");
        return admin;
    }

    /// <summary>Maps the read-only view of the card, which the auditor key may read too.</summary>
    public static RouteGroupBuilder MapAuditPricesApi(this RouteGroupBuilder audit)
    {
        audit.MapGroup("/prices").WithTags("Admin")
            .MapGet("/", ListAsync).WithName("ListPrices").WithSummary("Every rate card version, oldest first, the one in force marked.");
        return audit;
    }

    internal static async Task<Ok<RateCardVersionView>> PublishAsync(HttpContext http, IGrainFactory grains, ModelCatalog catalog, TimeProvider clock)
    {
        var request = await RequestJson.ReadAsync<PublishPricesRequest>(http);
        var entries = Parse(request, catalog);
        var effectiveFrom = ParseEffectiveFrom(request.EffectiveFrom);
        var card = grains.GetGrain<IRateCardGrain>(0);
        RateCardVersion version;
        try
        {
            // The card records the publication in the audit log itself, with the version it follows as before.
            version = await card.PublishAsync(request.Currency!, entries, effectiveFrom, AdminAudit.ActorOf(http));
        }
        catch (RateCardRefusedException refused)
        {
            throw Invalid(refused.Message, refused.Field);
        }

        return TypedResults.Ok(RateCardVersionView.Of(version, InForce(await card.ListAsync(), clock)));
    }

    /// <summary>
    /// An ISO 8601 date and time with its offset (<c>Z</c> or <c>+02:00</c>), or null when left out. A time without an
    /// offset is refused rather than read in the silo host's time zone, which would make the moment depend on the silo.
    /// </summary>
    internal static DateTimeOffset? ParseEffectiveFrom(JsonElement value)
    {
        const string Field = "effective_from";
        if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || !value.TryGetDateTime(out var local) || !value.TryGetDateTimeOffset(out var at))
        {
            throw Invalid($"{Field} must be an ISO 8601 date and time with an offset, such as \"2027-01-01T00:00:00Z\".", Field);
        }

        if (local.Kind == DateTimeKind.Unspecified)
        {
            throw Invalid(
                $"{Field} '{value.GetString()}' has no offset: an offset or Z is required (\"2027-01-01T00:00:00Z\" for midnight UTC), as a time without one would be read in the silo host's time zone.",
                Field);
        }

        return at.ToUniversalTime();
    }

    internal static async Task<Ok<ListPage<RateCardVersionView>>> ListAsync(IGrainFactory grains, TimeProvider clock)
    {
        var versions = await grains.GetGrain<IRateCardGrain>(0).ListAsync();
        var inForce = InForce(versions, clock);
        return TypedResults.Ok(new ListPage<RateCardVersionView>([.. versions.Select(v => RateCardVersionView.Of(v, inForce))], false, null));
    }

    private static int? InForce(IReadOnlyList<RateCardVersion> versions, TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        return versions.LastOrDefault(v => v.EffectiveFrom <= now)?.Version;
    }

    /// <summary>The request's prices, each field checked and named in the problem when wrong.</summary>
    private static List<PriceEntry> Parse(PublishPricesRequest request, ModelCatalog catalog)
    {
        if (string.IsNullOrWhiteSpace(request.Currency))
        {
            throw Invalid("currency is required (an ISO 4217 code such as USD).", "currency");
        }

        if (!RateCardVersion.IsCurrency(request.Currency))
        {
            throw Invalid($"currency '{request.Currency}' is not an ISO 4217 code such as USD.", "currency");
        }

        if (request.Prices is not { Count: > 0 } prices)
        {
            throw Invalid("prices must list at least one price.", "prices");
        }

        var known = catalog.Models.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var entries = new List<PriceEntry>(prices.Count);
        for (var i = 0; i < prices.Count; i++)
        {
            var price = prices[i] ?? throw Invalid($"prices[{i}] must be an object.", $"prices[{i}]");
            if (string.IsNullOrWhiteSpace(price.Model) || !known.Contains(price.Model))
            {
                throw Invalid($"prices[{i}].model '{price.Model}' is not a model of the catalog ({string.Join(", ", known.Order())}).", $"prices[{i}].model");
            }

            var direction = price.Direction switch
            {
                "prompt" => TokenDirection.Prompt,
                "completion" => TokenDirection.Completion,
                _ => throw Invalid($"prices[{i}].direction must be 'prompt' or 'completion'.", $"prices[{i}].direction"),
            };
            if (!Money.TryParse(price.PerMillion, out var perMillion) || perMillion < Money.Zero)
            {
                throw Invalid($"prices[{i}].per_million must be a decimal string of at most 6 places, not negative (e.g. \"0.15\").", $"prices[{i}].per_million");
            }

            if (price.Region is { } region && string.IsNullOrWhiteSpace(region))
            {
                throw Invalid($"prices[{i}].region must be a region label or null (any region).", $"prices[{i}].region");
            }

            entries.Add(new PriceEntry(price.Model, direction, price.Region, perMillion));
        }

        return entries;
    }

    private static ApiProblemException Invalid(string detail, string param) =>
        new(ApiProblems.BadRequest(detail, "invalid_value", param));
}

/// <summary>The body of <c>PUT /admin/prices</c>.</summary>
/// <param name="Currency">ISO 4217 code; every version of a card has the same.</param>
/// <param name="EffectiveFrom">
/// When the version takes effect: an ISO 8601 date and time with an offset or <c>Z</c> (read as JSON, so a time without
/// an offset is refused by name); default now, never in the past.
/// </param>
/// <param name="Prices">The whole card: every price of the version (a price left out is not carried over).</param>
public sealed record PublishPricesRequest(string? Currency, JsonElement EffectiveFrom, IReadOnlyList<PriceRequest?>? Prices);

/// <summary>One price of <see cref="PublishPricesRequest"/>.</summary>
/// <param name="Model">A model of the catalog.</param>
/// <param name="Direction"><c>prompt</c> or <c>completion</c>.</param>
/// <param name="Region">The region label of the creating node; null for any region without its own price.</param>
/// <param name="PerMillion">The price of a million tokens, as a decimal string ("0.15").</param>
public sealed record PriceRequest(string? Model, string? Direction, string? Region, string? PerMillion);

/// <summary>One rate card version as the admin API shows it.</summary>
public sealed record RateCardVersionView(int Version, DateTimeOffset EffectiveFrom, string Currency, bool InForce, IReadOnlyList<PriceView> Prices)
{
    /// <summary>Always <c>rate_card.version</c>.</summary>
    public string Object => "rate_card.version";

    internal static RateCardVersionView Of(RateCardVersion version, int? inForce) => new(
        version.Version, version.EffectiveFrom, version.Currency, version.Version == inForce,
        [.. version.Prices.Select(p => new PriceView(p.Model, p.Direction == TokenDirection.Prompt ? "prompt" : "completion", p.Region, p.PerMillion.ToString()))]);
}

/// <summary>One price of a version: <paramref name="PerMillion"/> is a decimal string with 6 places.</summary>
public sealed record PriceView(string Model, string Direction, string? Region, string PerMillion);
