using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Billing;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// A tenant's spend webhook under <c>/v1/billing/webhook</c> (tenant key): <c>PUT</c> sets the URL its spend threshold
/// events are posted to and answers a new signing secret, shown this once; <c>GET</c> shows it without the secret;
/// <c>DELETE</c> removes it. See docs/billing.md, Spend webhooks.
/// </summary>
internal static class BillingWebhookApi
{
    /// <summary>The longest URL accepted.</summary>
    public const int MaxUrlLength = 2048;

    public static RouteGroupBuilder MapBillingWebhookApi(this RouteGroupBuilder v1)
    {
        var webhook = v1.MapGroup("/billing/webhook").WithTags("Billing");
        webhook.MapPut("/", PutAsync).WithName("PutBillingWebhook").Accepts<PutWebhookRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .WithSummary("Sets the URL spend threshold events are posted to; answers its signing secret, shown this once.");
        webhook.MapGet("/", GetAsync).WithName("GetBillingWebhook").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The spend webhook, without its secret.");
        webhook.MapDelete("/", DeleteAsync).WithName("DeleteBillingWebhook").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Removes the spend webhook; events not yet posted are dropped.");
        return v1;
    }

    private static async Task<Ok<WebhookView>> PutAsync(HttpContext http, IGrainFactory grains, IOptions<SpendWebhookOptions> options)
    {
        var url = Parse(await RequestJson.ReadAsync<PutWebhookRequest>(http), options.Value);
        var issued = await grains.GetGrain<ITenantGrain>(http.Tenant().TenantId).SetSpendWebhookAsync(url);
        return TypedResults.Ok(WebhookView.Of(issued.Webhook, issued.Secret));
    }

    private static async Task<Ok<WebhookView>> GetAsync(HttpContext http, IGrainFactory grains) =>
        await grains.GetGrain<ITenantGrain>(http.Tenant().TenantId).GetSpendWebhookAsync() is { } webhook
            ? TypedResults.Ok(WebhookView.Of(webhook, null))
            : throw NotFound();

    private static async Task<NoContent> DeleteAsync(HttpContext http, IGrainFactory grains) =>
        await grains.GetGrain<ITenantGrain>(http.Tenant().TenantId).RemoveSpendWebhookAsync() ? TypedResults.NoContent() : throw NotFound();

    /// <summary>The request's URL, checked: absolute, https (or http where allowed), no credentials, at most 2,048 characters.</summary>
    private static string Parse(PutWebhookRequest request, SpendWebhookOptions options)
    {
        if (request.OtherFields is { Count: > 0 } other)
        {
            var name = other.Keys.Order(StringComparer.Ordinal).First();
            throw new ApiProblemException(ApiProblems.BadRequest($"Unknown field '{name}': a webhook takes url.", "unrecognized_argument", name));
        }

        var schemes = options.AllowHttp ? "http or https" : "https";
        if (request.Url is not { ValueKind: JsonValueKind.String } json || json.GetString() is not { Length: > 0 and <= MaxUrlLength } text
            || !Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || !(uri.Scheme == Uri.UriSchemeHttps || (options.AllowHttp && uri.Scheme == Uri.UriSchemeHttp))
            || uri.UserInfo.Length > 0 || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"url is required: an absolute {schemes} URL of at most {MaxUrlLength} characters, without credentials or fragment.", "invalid_value", "url"));
        }

        return uri.AbsoluteUri;
    }

    private static ApiProblemException NotFound() =>
        new(new ApiProblem(404, "Webhook not found", "No spend webhook is set; set one with PUT /v1/billing/webhook.", "webhook_not_found"));
}

/// <summary>
/// The body of <c>PUT /v1/billing/webhook</c>, read by <see cref="RequestJson"/> as every body is (UTF-8 only, size limit,
/// malformed JSON and unpaired surrogates refused); <c>url</c> as JSON so a wrong type is named too.
/// </summary>
public sealed record PutWebhookRequest
{
    /// <summary>Where spend threshold events are posted.</summary>
    public JsonElement Url { get; init; }

    /// <summary>Every field not declared above; refused.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? OtherFields { get; init; }
}

/// <summary>A spend webhook as the API shows it; <c>secret</c> only in the answer that set it.</summary>
public sealed record WebhookView(string Url, DateTimeOffset CreatedAt, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Secret)
{
    /// <summary>Always <c>billing.webhook</c>.</summary>
    public string Object => "billing.webhook";

    internal static WebhookView Of(SpendWebhook webhook, string? secret) => new(webhook.Url, webhook.CreatedAt, secret);
}
