using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Audit;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Audit;

/// <summary>
/// Records an admin action in the <see cref="IAuditLog"/> once it has succeeded, one call per endpoint: the acting key's
/// id (from the caller's claims), the time, and the resource before and after as the admin API shows it (its JSON). A
/// change that could not be recorded is not answered as a success: the error is logged and the caller gets a 503
/// problem saying the change was made but not audited.
/// </summary>
internal sealed partial class AdminAudit(
    IAuditLog log, TimeProvider clock, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, ILogger<AdminAudit> logger)
{
    /// <summary>
    /// Appends <paramref name="action"/> on <paramref name="target"/> by the caller of <paramref name="http"/>, with the
    /// views <paramref name="before"/> and <paramref name="after"/> (null where there is none). Never pass a view that
    /// holds a secret.
    /// </summary>
    /// <exception cref="ApiProblemException">503 <c>change_not_audited</c> when the log refused or failed.</exception>
    public async Task RecordAsync<TView>(HttpContext http, string action, string target, TView? before, TView? after)
        where TView : class
    {
        ArgumentNullException.ThrowIfNull(http);
        var actor = KeyIds.Of(http.User) ?? "unknown";
        try
        {
            var options = json.Value.SerializerOptions;
            var change = new AuditChange(clock.GetUtcNow(), actor, action, target, Serialize(before, options), Serialize(after, options));

            // Not the request's token: the change is made, so it is recorded even when the caller has left.
            await log.AppendAsync(change, CancellationToken.None);
        }
        catch (Exception e)
        {
            LogNotAudited(logger, e, action, target, actor);
            throw new ApiProblemException(new ApiProblem(
                StatusCodes.Status503ServiceUnavailable, "Change not audited",
                $"The change ({action} of '{target}') was made, but the audit log could not record it; do not repeat it. The server's log has the error.",
                "change_not_audited"));
        }
    }

    private static string? Serialize<TView>(TView? view, JsonSerializerOptions options)
        where TView : class => view is null ? null : JsonSerializer.Serialize(view, options);
}
