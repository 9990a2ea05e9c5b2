using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Audit;
using TokenGrid.Silo.Apis;
using TokenGrid.Silo.Auth;

namespace TokenGrid.Silo.Audit;

/// <summary>
/// Records an admin action in the <see cref="IAuditLog"/> once it has succeeded: the acting key's id (from the caller's
/// claims), the time, and the resource before and after as the admin API shows it (its JSON). A change that could not
/// be recorded is not answered as a success: the error is logged and the caller gets a 503 problem saying the change
/// was made but not audited (<see cref="ChangeNotAuditedException"/>).
/// </summary>
/// <remarks>
/// Endpoints record their own changes, except where concurrent changes of one resource must come out in order: the
/// grain that makes those records them in its turn, through <see cref="IAuditRecorder"/>, and shows its values as the
/// admin API does with <see cref="ViewOf"/>.
/// </remarks>
internal sealed partial class AdminAudit(
    IAuditLog log, TimeProvider clock, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, ILogger<AdminAudit> logger) : IAuditRecorder
{
    /// <summary>
    /// Appends <paramref name="action"/> on <paramref name="target"/> by the caller of <paramref name="http"/>, with the
    /// views <paramref name="before"/> and <paramref name="after"/> (null where there is none). Never pass a view that
    /// holds a secret.
    /// </summary>
    /// <exception cref="ChangeNotAuditedException">The log refused or failed (503 <c>change_not_audited</c>).</exception>
    public Task RecordAsync<TView>(HttpContext http, string action, string target, TView? before, TView? after)
        where TView : class
    {
        ArgumentNullException.ThrowIfNull(http);
        return AppendAsync(ActorOf(http), action, target, before, after);
    }

    /// <inheritdoc/>
    /// <remarks>A rate card version's <c>in_force</c> is as it is now, the version before being the latest then.</remarks>
    public Task RecordAsync(string actor, string action, string target, object? before, object? after)
    {
        var now = clock.GetUtcNow();
        var published = after as RateCardVersion;
        return AppendAsync(actor, action, target, ViewOf(before, now, published), ViewOf(after, now, null));
    }

    /// <summary>The caller's credential id as the audit log names it.</summary>
    public static string ActorOf(HttpContext http) => KeyIds.Of(http.User) ?? "unknown";

    /// <summary>
    /// A grain's value as the admin API shows it: a rate card version (in force now unless <paramref name="next"/> is),
    /// a subsidy program, or the value itself (a tenant).
    /// </summary>
    private static object? ViewOf(object? value, DateTimeOffset now, RateCardVersion? next) => value switch
    {
        RateCardVersion version => RateCardVersionView.Of(
            version, version.EffectiveFrom <= now && !(next?.EffectiveFrom <= now) ? version.Version : null),
        SubsidyProgramInfo program => SubsidyProgramView.Of(program),
        _ => value,
    };

    private async Task AppendAsync(string actor, string action, string target, object? before, object? after)
    {
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
            throw new ChangeNotAuditedException(action, target);
        }
    }

    private static string? Serialize(object? view, JsonSerializerOptions options) =>
        view is null ? null : JsonSerializer.Serialize(view, view.GetType(), options);
}
