using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Audit;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Silo.Audit;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// Statements (docs/billing.md "Statements"): a tenant reads its own under <c>/v1/billing/statements</c>, the auditor and
/// admin keys any tenant's under <c>/admin/tenants/{id}/statements</c>, and the admin key closes a period with
/// <c>POST /admin/periods/{period}/close</c>. One statement is JSON, or CSV with <c>Accept: text/csv</c> or
/// <c>?format=csv</c>.
/// </summary>
internal static class StatementsApi
{
    public static RouteGroupBuilder MapStatementsApi(this RouteGroupBuilder v1)
    {
        var statements = v1.MapGroup("/billing/statements").WithTags("Billing");
        statements.MapGet("/", (HttpContext http, StatementBook book, CancellationToken ct) => ListAsync(http.Tenant().TenantId, book, ct))
            .WithName("ListStatements").WithSummary("The caller's statements, oldest first: each period with charges, and the current one (open).");
        statements.MapGet("/{period}", (HttpContext http, string period, string? format, StatementBook book, CancellationToken ct) =>
                GetAsync(http, http.Tenant().TenantId, period, format, book, ct))
            .WithName("GetStatement").AcceptsQuery("format").WithSummary("The caller's statement for a month (yyyy-MM, UTC), as JSON or CSV.")
            .ProducesStatement().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    /// <summary>Maps any tenant's statements, for the auditor and admin keys.</summary>
    public static RouteGroupBuilder MapAuditStatementsApi(this RouteGroupBuilder audit)
    {
        var statements = audit.MapGroup("/tenants/{id}/statements").WithTags("Admin");
        statements.MapGet("/", async (string id, IGrainFactory grains, StatementBook book, CancellationToken ct) =>
            {
                await RequireTenantAsync(grains, id);
                return await ListAsync(id, book, ct);
            })
            .WithName("ListTenantStatements").WithSummary("A tenant's statements, oldest first.");
        statements.MapGet("/{period}", async (HttpContext http, string id, string period, string? format, IGrainFactory grains, StatementBook book, CancellationToken ct) =>
            {
                await RequireTenantAsync(grains, id);
                return await GetAsync(http, id, period, format, book, ct);
            })
            .WithName("GetTenantStatement").AcceptsQuery("format").WithSummary("A tenant's statement for a month (yyyy-MM, UTC), as JSON or CSV.")
            .ProducesStatement().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        return audit;
    }

    /// <summary>Maps closing a period, for the admin key.</summary>
    public static RouteGroupBuilder MapAdminPeriodsApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/periods/{period}/close", CloseAsync).WithTags("Admin").WithName("ClosePeriod")
            .WithSummary("Stores every tenant's statement for an ended month, immutably; closing again changes nothing.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        return admin;
    }

    internal static async Task<Ok<PeriodCloseView>> CloseAsync(
        HttpContext http, string period, StatementBook book, IStatementStore store, AdminAudit audit, CancellationToken ct)
    {
        var parsed = ParsePeriod(period);
        var before = (await store.ClosedAsync(ct)).FirstOrDefault(c => c.Period == parsed);
        PeriodClose closed;
        try
        {
            closed = await book.CloseAsync(parsed, ct);
        }
        catch (PeriodNotEndedException notEnded)
        {
            throw new ApiProblemException(new ApiProblem(409, "Period not ended", notEnded.Message, "period_not_ended", "period")
            {
                // Only once the month has ended: a close refused for the grace after it is worth retrying in a moment.
                RetryAfter = notEnded.Wait <= StatementBook.CloseGrace ? notEnded.Wait : null,
            });
        }

        var view = PeriodCloseView.Of(closed);
        await audit.RecordAsync(http, AuditActions.PeriodClose, parsed.ToString(), before is null ? null : PeriodCloseView.Of(before), view);
        return TypedResults.Ok(view);
    }

    private static async Task<Ok<ListPage<StatementView>>> ListAsync(string tenantId, StatementBook book, CancellationToken ct)
    {
        var statements = await book.ListAsync(tenantId, ct);
        return TypedResults.Ok(new ListPage<StatementView>([.. statements.Select(StatementView.Of)], false, null));
    }

    /// <summary>A statement's two forms: JSON, or CSV with <c>?format=csv</c> or <c>Accept: text/csv</c>.</summary>
    private static RouteHandlerBuilder ProducesStatement(this RouteHandlerBuilder builder) =>
        builder.Produces<StatementView>(StatusCodes.Status200OK).AddOpenApiOperationTransformer((operation, _, _) =>
        {
            // One status, two media types with their own schemas, which Produces cannot say (a second Produces replaces the first).
            if (operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content is { } content)
            {
                content["text/csv"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } };
            }

            return Task.CompletedTask;
        });

    private static async Task<IResult> GetAsync(
        HttpContext http, string tenantId, string periodText, string? format, StatementBook book, CancellationToken ct)
    {
        QueryValues.Once(http.Request, "format");
        var period = ParsePeriod(periodText);
        var csv = WantsCsv(http, format);
        var statement = await book.GetAsync(tenantId, period, ct)
            ?? throw new ApiProblemException(new ApiProblem(404, "Statement not found", $"Period {period} has not begun.", "statement_not_found", "period"));
        if (!csv)
        {
            return TypedResults.Ok(StatementView.Of(statement));
        }

        http.Response.Headers[HeaderNames.ContentDisposition] = $"attachment; filename=\"statement-{tenantId}-{period}.csv\"";
        return TypedResults.Text(StatementCsv.Write(statement), StatementCsv.ContentType);
    }

    internal static StatementPeriod ParsePeriod(string text) =>
        StatementPeriod.TryParse(text, out var period)
            ? period
            : throw new ApiProblemException(ApiProblems.BadRequest($"period must be a month as yyyy-MM from 0001-01 to 9998-12 (e.g. 2026-12), not '{text}': 9999-12 would end after the last instant a time can hold.", "invalid_value", "period"));

    private static bool WantsCsv(HttpContext http, string? format) => format switch
    {
        "csv" => true,
        "json" => false,
        null => PrefersCsv(http.Request.GetTypedHeaders().Accept),
        _ => throw new ApiProblemException(ApiProblems.BadRequest("format must be 'json' or 'csv'.", "invalid_value", "format")),
    };

    private static readonly MediaTypeHeaderValue s_csv = new("text/csv");
    private static readonly MediaTypeHeaderValue s_json = new("application/json");

    /// <summary>
    /// Whether <c>Accept</c> prefers CSV to JSON (RFC 9110 §12.5.1): each type takes the quality of the most specific
    /// range that matches it, <c>q=0</c> meaning not acceptable. CSV is answered when its quality is higher, or equal and
    /// named itself (<c>text/csv</c>, not <c>*/*</c>); JSON otherwise, also when neither is acceptable (never a 406).
    /// </summary>
    internal static bool PrefersCsv(IList<MediaTypeHeaderValue> accept)
    {
        var (csv, csvSpecificity) = QualityOf(accept, s_csv);
        var (json, _) = QualityOf(accept, s_json);
        return csv > 0 && (csv > json || (csv == json && csvSpecificity == 2));
    }

    /// <summary>The quality of <paramref name="type"/> under <paramref name="accept"/> and how specific its range is (0: <c>*/*</c>, 2: the type).</summary>
    private static (double Quality, int Specificity) QualityOf(IList<MediaTypeHeaderValue> accept, MediaTypeHeaderValue type)
    {
        // By media type alone: a parameter such as header=present does not make text/csv another type.
        var deciding = accept.Where(range => type.IsSubsetOf(new MediaTypeHeaderValue(range.MediaType)))
            .OrderByDescending(range => range.MatchesAllTypes ? 0 : range.MatchesAllSubTypes ? 1 : 2)
            .ThenBy(range => range.Quality ?? HeaderQuality.Match)
            .FirstOrDefault();
        return deciding is null ? (0, -1)
            : (deciding.Quality ?? HeaderQuality.Match, deciding.MatchesAllTypes ? 0 : deciding.MatchesAllSubTypes ? 1 : 2);
    }

    private static async Task RequireTenantAsync(IGrainFactory grains, string id)
    {
        if (!TenantIds.IsValid(id) || await grains.GetGrain<ITenantGrain>(id).GetAsync() is null)
        {
            throw new ApiProblemException(ApiProblems.TenantNotFound(id));
        }
    }
}
