using System.Text.Json;
using System.Text.Json.Serialization;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Audit;
using TokenGrid.Silo.Audit;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// Subsidy programs under <c>/admin/subsidies</c>: <c>PUT /{id}</c> creates or changes one (admin key); <c>GET</c> lists
/// them or reads one with its current period's budget position (auditor or admin key). Amounts are decimal strings
/// (see docs/billing.md, Subsidy programs). Each change is recorded in the audit log by the program, in its turn, with
/// the program before it.
/// </summary>
internal static class AdminSubsidiesApi
{
    public static RouteGroupBuilder MapAdminSubsidiesApi(this RouteGroupBuilder admin)
    {
        admin.MapGroup("/subsidies").WithTags("Admin")
            .MapPut("/{id}", PutAsync).WithName("PutSubsidyProgram").Accepts<PutSubsidyRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .WithSummary("Creates or changes a subsidy program; a new budget applies to the current period.");
        return admin;
    }

    /// <summary>Maps the read-only views, which the auditor key may read too.</summary>
    public static RouteGroupBuilder MapAuditSubsidiesApi(this RouteGroupBuilder audit)
    {
        var subsidies = audit.MapGroup("/subsidies").WithTags("Admin");
        subsidies.MapGet("/", ListAsync).WithName("ListSubsidyPrograms").WithSummary("Every subsidy program with its period's position.");
        subsidies.MapGet("/{id}", GetAsync).WithName("GetSubsidyProgram").ProducesProblem(StatusCodes.Status404NotFound);
        return audit;
    }

    internal static async Task<Ok<SubsidyProgramView>> PutAsync(string id, HttpContext http, IGrainFactory grains)
    {
        if (!TenantIds.IsValid(id))
        {
            throw Invalid($"id: {TenantIds.Rule}", "id");
        }

        var request = await RequestJson.ReadAsync<PutSubsidyRequest>(http);
        var program = Parse(id, request);
        SubsidyProgramView after;
        try
        {
            // The program records the change in the audit log itself, with what it replaced as before.
            after = SubsidyProgramView.Of(await grains.GetGrain<ISubsidyProgramGrain>(id).PutAsync(program, AdminAudit.ActorOf(http)));
        }
        catch (ArgumentException refused)
        {
            throw Invalid(refused.Message, "program");
        }

        return TypedResults.Ok(after);
    }

    internal static async Task<Ok<ListPage<SubsidyProgramView>>> ListAsync(IGrainFactory grains)
    {
        var ids = await grains.GetGrain<ISubsidyDirectoryGrain>(0).ListAsync();
        var infos = await Task.WhenAll(ids.Select(id => grains.GetGrain<ISubsidyProgramGrain>(id).GetAsync()));
        return TypedResults.Ok(new ListPage<SubsidyProgramView>([.. infos.OfType<SubsidyProgramInfo>().Select(SubsidyProgramView.Of)], false, null));
    }

    internal static async Task<Ok<SubsidyProgramView>> GetAsync(string id, IGrainFactory grains)
    {
        var info = TenantIds.IsValid(id) ? await grains.GetGrain<ISubsidyProgramGrain>(id).GetAsync() : null;
        return info is null
            ? throw new ApiProblemException(new ApiProblem(404, "Subsidy program not found", $"No subsidy program '{id}' exists.", "subsidy_program_not_found"))
            : TypedResults.Ok(SubsidyProgramView.Of(info));
    }

    /// <summary>The request as a program, each field checked and named in the problem when wrong.</summary>
    private static SubsidyProgram Parse(string id, PutSubsidyRequest request)
    {
        if (request.OtherFields is { Count: > 0 } other)
        {
            var name = other.Keys.Order(StringComparer.Ordinal).First();
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"Unknown field '{name}': a subsidy program takes share_bps, budget_per_period and on_exhausted.", "unrecognized_argument", name));
        }

        if (request.ShareBps is not { ValueKind: JsonValueKind.Number } shareJson || !shareJson.TryGetInt32(out var share)
            || share is < 0 or > Pricing.BasisPointsPerWhole)
        {
            throw Invalid("share_bps is required: an integer number of basis points from 0 to 10000 (4000 = 40%).", "share_bps");
        }

        if (request.BudgetPerPeriod is not { ValueKind: JsonValueKind.String } budgetJson
            || !Money.TryParse(budgetJson.GetString(), out var budget) || budget < Money.Zero)
        {
            throw Invalid("budget_per_period is required: a decimal string of at most 6 places, not negative (e.g. \"100.00\").", "budget_per_period");
        }

        var exhaustion = request.OnExhausted switch
        {
            { ValueKind: JsonValueKind.Undefined or JsonValueKind.Null } => SubsidyExhaustion.FullPrice,
            { ValueKind: JsonValueKind.String } text when text.GetString() == "full_price" => SubsidyExhaustion.FullPrice,
            { ValueKind: JsonValueKind.String } text when text.GetString() == "refuse" => SubsidyExhaustion.Refuse,
            _ => throw Invalid("on_exhausted must be 'full_price' (the default) or 'refuse'.", "on_exhausted"),
        };
        return new SubsidyProgram(id, share, budget, exhaustion);
    }

    private static ApiProblemException Invalid(string detail, string param) =>
        new(ApiProblems.BadRequest(detail, "invalid_value", param));
}

/// <summary>The body of <c>PUT /admin/subsidies/{id}</c>; fields are read as JSON so a wrong type is named too.</summary>
public sealed record PutSubsidyRequest
{
    /// <summary>The share of the price the program pays, in basis points (0-10000).</summary>
    public JsonElement ShareBps { get; init; }

    /// <summary>The budget per calendar month (UTC), as a decimal string ("100.00").</summary>
    public JsonElement BudgetPerPeriod { get; init; }

    /// <summary><c>full_price</c> (default) or <c>refuse</c>: what the program's tenants get once the budget is spent.</summary>
    public JsonElement OnExhausted { get; init; }

    /// <summary>Every field not declared above; refused.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? OtherFields { get; init; }
}

/// <summary>A subsidy program as the admin API shows it: amounts are decimal strings with 6 places.</summary>
public sealed record SubsidyProgramView(
    string Id, int ShareBps, string BudgetPerPeriod, string OnExhausted, DateTimeOffset PeriodStart, string Spent, string Reserved,
    string Remaining, DateTimeOffset UpdatedAt)
{
    /// <summary>Always <c>subsidy_program</c>.</summary>
    public string Object => "subsidy_program";

    internal static SubsidyProgramView Of(SubsidyProgramInfo info) => new(
        info.Program.Id, info.Program.ShareBasisPoints, info.Program.BudgetPerPeriod.ToString(),
        info.Program.OnExhausted == SubsidyExhaustion.Refuse ? "refuse" : "full_price", info.PeriodStart, info.Spent.ToString(),
        info.Reserved.ToString(), info.Remaining.ToString(), info.UpdatedAt);
}
