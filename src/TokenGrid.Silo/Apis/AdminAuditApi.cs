using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Audit;
using TokenGrid.Silo.Options;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// The audit log of admin actions: <c>GET /admin/audit?after=&amp;limit=&amp;action=&amp;target=</c>, oldest first, for
/// the auditor key (and the admin key). Entries are recorded by <see cref="Audit.AdminAudit"/>.
/// </summary>
internal static class AdminAuditApi
{
    public static RouteGroupBuilder MapAdminAuditApi(this RouteGroupBuilder audit)
    {
        audit.MapGet("/audit", ReadAsync).WithTags("Admin").WithName("ReadAuditLog").AcceptsQuery("after", "limit", "action", "target").ProducesProblem(StatusCodes.Status400BadRequest)
            .WithSummary("Admin actions after a sequence number, oldest first, optionally of one action or target; pass next_after as after for the next page.");
        return audit;
    }

    internal static async Task<Ok<AuditPageView>> ReadAsync(
        HttpRequest request, IAuditLog log, IOptions<ApiOptions> options, string? after, string? limit, string? action, string? target,
        CancellationToken cancellationToken)
    {
        QueryValues.Once(request, "after", "limit", "action", "target");
        var max = options.Value.MaxPageSize;
        var afterSequence = after is null ? 0 : Parse(after, 0, long.MaxValue, "after", "after must be a sequence number (0 or more).");
        var pageSize = limit is null
            ? options.Value.DefaultPageSize
            : (int)Parse(limit, 1, max, "limit", $"limit must be between 1 and {max}.");
        var query = new AuditQuery(afterSequence, pageSize, string.IsNullOrEmpty(action) ? null : action, string.IsNullOrEmpty(target) ? null : target);
        var page = await log.ReadAsync(query, cancellationToken);
        return TypedResults.Ok(new AuditPageView([.. page.Entries.Select(AuditEntryView.Of)], page.NextAfter));
    }

    private static long Parse(string value, long min, long max, string param, string rule) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed >= min && parsed <= max
            ? parsed
            : throw new ApiProblemException(ApiProblems.BadRequest(rule, "invalid_value", param));
}

/// <summary>A page of the audit log, oldest first; pass <see cref="NextAfter"/> as <c>after</c> for the next (null: no more now).</summary>
public sealed record AuditPageView(IReadOnlyList<AuditEntryView> Data, long? NextAfter)
{
    /// <summary>Always <c>list</c>.</summary>
    public string Object => "list";
}

/// <summary>
/// One admin action: its sequence, when, the acting key's id (<c>admin:…</c>, <c>auditor:…</c>), the action, the
/// resource acted on, and the resource before and after as the admin API shows it (null where there is none).
/// </summary>
public sealed record AuditEntryView(long Sequence, DateTimeOffset At, string Actor, string Action, string Target, JsonElement? Before, JsonElement? After)
{
    /// <summary>Always <c>audit.entry</c>.</summary>
    public string Object => "audit.entry";

    internal static AuditEntryView Of(AuditEntry entry)
    {
        var change = entry.Change;
        return new(entry.Sequence, change.At, change.Actor, change.Action, change.Target, Document(change.Before), Document(change.After));
    }

    private static JsonElement? Document(string? json) => json is null ? null : JsonSerializer.Deserialize<JsonElement>(json);
}
