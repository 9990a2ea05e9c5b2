using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Responses;
using TokenGrid.Grains.Jobs.Retention;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Problems;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// The caller's stored responses (<c>store</c> true), one <see cref="IStoredResponseGrain"/> each, keyed by the response
/// id. An output item's id carries its response's hex digits (<c>msg_X</c>, <c>msg_X_i</c>, <c>fc_X_n</c> of
/// <c>resp_X</c>), so an <c>item_reference</c> finds its response with no index. A tenant reaches only its own.
/// </summary>
internal sealed partial class ResponseStore(IGrainFactory grains, TimeProvider time, IOptions<HttpJsonOptions> json, IOptions<JobRetentionOptions> retention, ILogger<ResponseStore> logger)
{
    /// <summary>
    /// Keeps <paramref name="response"/> for the caller's tenant, as the API serializes it, when the request asked to
    /// store it. Never throws: the job has run and been charged, so a storage that fails (logged, event 3501) costs the
    /// tenant the stored copy (a later <c>GET</c> or <c>item_reference</c> finds none), never the reply itself.
    /// </summary>
    public async Task StoreAsync(HttpContext http, ResponseObject response)
    {
        if (!response.Store)
        {
            return;
        }

        try
        {
            var text = JsonSerializer.Serialize(response, json.Value.SerializerOptions);
            var now = time.GetUtcNow();
            await grains.GetGrain<IStoredResponseGrain>(response.Id)
                .StoreAsync(new StoredResponse(http.Tenant().TenantId, now, text, now + retention.Value.StoredResponses));
        }
        catch (Exception e)
        {
            LogStoreFailed(logger, e, response.Id, http.Tenant().TenantId);
        }
    }

    [LoggerMessage(EventId = 3501, Level = LogLevel.Warning,
        Message = "Response {ResponseId} of tenant {TenantId} was returned but could not be stored: GET /v1/responses/{ResponseId} and item references to it will not find it")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string responseId, string tenantId);

    /// <summary>The caller's stored response <paramref name="id"/> as JSON text, or null (missing, another tenant's, expired, or no response id).</summary>
    public async Task<string?> FindAsync(HttpContext http, string id) =>
        ResponseIdShape().IsMatch(id)
            ? (await grains.GetGrain<IStoredResponseGrain>(id).GetAsync(http.Tenant().TenantId))?.Json
            : null;

    /// <summary>Deletes the caller's stored response <paramref name="id"/>; whether there was one to delete.</summary>
    public async Task<bool> DeleteAsync(HttpContext http, string id) =>
        ResponseIdShape().IsMatch(id) && await grains.GetGrain<IStoredResponseGrain>(id).DeleteAsync(http.Tenant().TenantId);

    /// <summary>
    /// <paramref name="input"/> with each <c>{"type": "item_reference", "id"}</c> item replaced by the stored output item
    /// it names (an assistant message or a function call of one of the caller's stored responses), at the same index;
    /// unchanged when it holds none. An id that names none of the caller's is a 400 naming <c>input[i].id</c>.
    /// </summary>
    public async Task<JsonElement> ExpandReferencesAsync(HttpContext http, JsonElement input)
    {
        if (input.ValueKind != JsonValueKind.Array || !input.EnumerateArray().Any(IsReference))
        {
            return input;
        }

        var expanded = new JsonArray();
        var responses = new Dictionary<string, JsonElement?>(StringComparer.Ordinal);
        var index = 0;
        foreach (var item in input.EnumerateArray())
        {
            var at = $"input[{index++}]";
            if (!IsReference(item))
            {
                expanded.Add(JsonNode.Parse(item.GetRawText()));
                continue;
            }

            RequestFieldPolicy.CheckKeys(item, at, "type", "id");
            var id = item.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.String ? idValue.GetString()! : null;
            if (id is null)
            {
                throw new ApiProblemException(ApiProblems.BadRequest($"{at}.id must be a string: the id of an output item of a stored response.", "invalid_value", $"{at}.id"));
            }

            var found = await FindItemAsync(http, id, responses)
                ?? throw new ApiProblemException(ApiProblems.BadRequest(
                    $"{at}.id '{id}' is not an output item of a stored response of yours: items are kept only for responses created with store true, for the grid's retention of stored responses (30 days by default).",
                    "invalid_value", $"{at}.id"));
            expanded.Add(JsonNode.Parse(found.GetRawText()));
        }

        return JsonSerializer.SerializeToElement(expanded);
    }

    private async Task<JsonElement?> FindItemAsync(HttpContext http, string itemId, Dictionary<string, JsonElement?> responses)
    {
        var match = ItemIdShape().Match(itemId);
        if (!match.Success)
        {
            return null;
        }

        var responseId = "resp_" + match.Groups["hex"].Value;
        if (!responses.TryGetValue(responseId, out var response))
        {
            var text = await FindAsync(http, responseId);
            responses[responseId] = response = text is null ? null : JsonDocument.Parse(text).RootElement.Clone();
        }

        if (response is not { } stored || !stored.TryGetProperty("output", out var output) || output.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var item in output.EnumerateArray())
        {
            if (item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() == itemId)
            {
                return item;
            }
        }

        return null;
    }

    private static bool IsReference(JsonElement item) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty("type", out var type)
        && type.ValueKind == JsonValueKind.String && type.GetString() == "item_reference";

    [GeneratedRegex(@"\Aresp_[0-9a-f]{24}\z", RegexOptions.CultureInvariant)]
    private static partial Regex ResponseIdShape();

    // The ids ResponseOutputItems gives: msg_X (the first message), msg_X_i (a later one), fc_X_n (the n-th call).
    [GeneratedRegex(@"\A(?:msg|fc)_(?<hex>[0-9a-f]{24})(?:_[0-9]{1,9})?\z", RegexOptions.CultureInvariant)]
    private static partial Regex ItemIdShape();
}
