using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Audit;
using TokenGrid.Silo.Audit;
using TokenGrid.Silo.Serving;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// Tenant administration under <c>/admin/tenants</c>: create, list, read, update budgets and delete. Every change is
/// recorded in the audit log.
/// </summary>
internal static class AdminTenantsApi
{
    public static RouteGroupBuilder MapAdminTenantsApi(this RouteGroupBuilder admin)
    {
        var tenants = admin.MapGroup("/tenants").WithTags("Admin");
        tenants.MapPost("/", CreateTenantAsync).WithName("CreateTenant").Accepts<CreateTenantRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        tenants.MapGet("/", ListTenantsAsync).WithName("ListTenants");
        tenants.MapGet("/{id}", GetTenantAsync).WithName("GetTenant").ProducesProblem(StatusCodes.Status404NotFound);
        tenants.MapPut("/{id}", ReplaceTenantAsync).WithName("ReplaceTenant").Accepts<UpdateTenantRequest>("application/json");
        tenants.MapPatch("/{id}", PatchTenantAsync).WithName("PatchTenant").Accepts<PatchTenantRequest>("application/json");
        tenants.MapDelete("/{id}", DeleteTenantAsync).WithName("DeleteTenant");
        return admin;
    }

    internal static async Task<Created<TenantInfo>> CreateTenantAsync(HttpContext http, IGrainFactory grains, AdminAudit audit)
    {
        var request = await RequestJson.ReadAsync<CreateTenantRequest>(http);
        if (!TenantIds.IsValid(request.Id))
        {
            throw new ApiProblemException(ApiProblems.BadRequest($"id: {TenantIds.Rule}", "invalid_value", "id"));
        }

        var id = request.Id!;
        var spec = new TenantSpec(request.Name ?? id, request.Budget ?? new TenantBudget(), request.Enabled ?? true);
        await RequireProgramAsync(grains, spec.Budget);
        var info = await grains.GetGrain<ITenantGrain>(id).CreateAsync(spec);
        await audit.RecordAsync(http, AuditActions.TenantCreate, info.Id, null, info);
        return TypedResults.Created($"/admin/tenants/{info.Id}", info);
    }

    /// <summary>A tenant is enrolled only in a subsidy program that exists (an unknown one would silently pay nothing).</summary>
    private static async Task RequireProgramAsync(IGrainFactory grains, TenantBudget? budget)
    {
        if (budget?.SubsidyProgram is { } program && !string.IsNullOrWhiteSpace(program)
            && await grains.GetGrain<ISubsidyProgramGrain>(program).GetAsync() is null)
        {
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"budget.subsidy_program: there is no subsidy program '{program}' (create it with PUT /admin/subsidies/{{id}}).", "invalid_value", "budget.subsidy_program"));
        }
    }

    internal static async Task<Ok<ListPage<TenantInfo>>> ListTenantsAsync(IGrainFactory grains)
    {
        var ids = await grains.GetGrain<ITenantDirectoryGrain>(0).ListAsync();
        var infos = await Task.WhenAll(ids.Select(id => grains.GetGrain<ITenantGrain>(id).GetAsync()));
        return TypedResults.Ok(new ListPage<TenantInfo>([.. infos.OfType<TenantInfo>()], false, null));
    }

    internal static async Task<Ok<TenantInfo>> GetTenantAsync(string id, IGrainFactory grains) =>
        TypedResults.Ok(await RequireAsync(grains.GetGrain<ITenantGrain>(id), id));

    /// <summary>Replaces the budget (fields left out take their defaults); name and enabled are kept unless given.</summary>
    internal static async Task<Ok<TenantInfo>> ReplaceTenantAsync(string id, HttpContext http, IGrainFactory grains, AdminAudit audit)
    {
        var request = await RequestJson.ReadAsync<UpdateTenantRequest>(http);
        var tenant = grains.GetGrain<ITenantGrain>(id);
        var current = await RequireAsync(tenant, id);
        var spec = new TenantSpec(request.Name ?? current.Name, request.Budget ?? new TenantBudget(), request.Enabled ?? current.Enabled);
        await RequireProgramAsync(grains, spec.Budget);
        var updated = await tenant.UpdateAsync(spec);
        await audit.RecordAsync(http, AuditActions.TenantUpdate, id, current, updated);
        return TypedResults.Ok(updated);
    }

    /// <summary>Changes only the fields given, budget fields included.</summary>
    internal static async Task<Ok<TenantInfo>> PatchTenantAsync(string id, HttpContext http, IGrainFactory grains, AdminAudit audit)
    {
        var request = await RequestJson.ReadAsync<PatchTenantRequest>(http);
        var tenant = grains.GetGrain<ITenantGrain>(id);
        var current = await RequireAsync(tenant, id);
        var budget = request.Budget is { } patch ? patch.ApplyTo(current.Budget) : current.Budget;
        if (budget.SubsidyProgram != current.Budget.SubsidyProgram)
        {
            await RequireProgramAsync(grains, budget);
        }

        var updated = await tenant.UpdateAsync(new TenantSpec(request.Name ?? current.Name, budget, request.Enabled ?? current.Enabled));
        await audit.RecordAsync(http, AuditActions.TenantUpdate, id, current, updated);
        return TypedResults.Ok(updated);
    }

    /// <summary>
    /// Deletes a tenant's content and keys and keeps its ledger: the tenant is marked deleted, disabled for good (it can
    /// no longer be enabled, changed or given keys: 409 <c>tenant_deleted</c>; its id stays taken, so no new tenant
    /// inherits its ledger), every key is revoked, and every job's content is deleted (a running job is cancelled
    /// first and settles as usual). The job records, the ledger and the usage stay for billing and audit. Again: the same
    /// outcome, with nothing left to delete.
    /// </summary>
    internal static async Task<Ok<TenantDeletionView>> DeleteTenantAsync(string id, HttpContext http, IGrainFactory grains, AdminAudit audit)
    {
        var tenant = grains.GetGrain<ITenantGrain>(id);
        var before = await RequireAsync(tenant, id);
        await tenant.DeleteAsync();

        var revoked = 0;
        foreach (var key in await tenant.ListKeysAsync())
        {
            if (key.RevokedAt is null && await tenant.RevokeKeyAsync(key.KeyId))
            {
                revoked++;
            }
        }

        // A page of jobs at a time, so the calls in flight stay bounded however many jobs the tenant has.
        var jobs = 0;
        string? cursor = null;
        while (true)
        {
            var page = await tenant.ListJobIdsAsync(cursor, JobPage);
            await Task.WhenAll(page.Select(job => grains.GetGrain<IJobGrain>(job).DeleteContentAsync(JobContentDeletionReason.TenantDeleted)));
            jobs += page.Count;
            if (page.Count < JobPage)
            {
                break;
            }

            cursor = page[^1];
        }

        await audit.RecordAsync(http, AuditActions.TenantDelete, id, before, await tenant.GetAsync());
        return TypedResults.Ok(new TenantDeletionView(id, jobs, revoked));
    }

    private const int JobPage = 100;

    private static async Task<TenantInfo> RequireAsync(ITenantGrain tenant, string id) =>
        (TenantIds.IsValid(id) ? await tenant.GetAsync() : null) ?? throw new ApiProblemException(ApiProblems.TenantNotFound(id));
}

/// <summary>
/// The answer to <c>DELETE /admin/tenants/{id}</c>: the jobs whose content is now deleted (all of the tenant's) and the
/// keys this call revoked. The tenant stays, disabled, with its job records and ledger.
/// </summary>
public sealed record TenantDeletionView(string Id, int Jobs, int KeysRevoked)
{
    /// <summary>Always <c>tenant.deleted</c>.</summary>
    public string Object => "tenant.deleted";
}

/// <summary>The body of <c>POST /admin/tenants</c>.</summary>
public sealed record CreateTenantRequest(string? Id, string? Name, TenantBudget? Budget, bool? Enabled);

/// <summary>The body of <c>PUT /admin/tenants/{id}</c>.</summary>
public sealed record UpdateTenantRequest(string? Name, TenantBudget? Budget, bool? Enabled);

/// <summary>The body of <c>PATCH /admin/tenants/{id}</c>: only the fields given change.</summary>
public sealed record PatchTenantRequest(string? Name, TenantBudgetPatch? Budget, bool? Enabled);

/// <summary>
/// Budget fields to change; null fields keep their values. <c>required_labels</c> sets the node labels the tenant's jobs
/// must run on (<c>{"region": "west"}</c>); an empty object lifts the restriction. <c>spend_cap</c>, <c>plan</c>,
/// <c>subsidy_program</c> and <c>home_region</c> set the tenant's billing (docs/billing.md); a PUT of the budget without
/// them removes them. <c>placement</c> (<c>any</c> or <c>cheapest</c>) and <c>cheapest_max_extra_wait</c> (a time span,
/// <c>"00:00:05"</c>, as the configuration writes them) set cost-aware placement (docs/billing.md).
/// <c>prefix_cache_scope</c> names a shared prefix cache scope the tenant opts into (1 to 64 letters, digits, <c>-</c>,
/// <c>_</c> or <c>.</c>); a PUT of the budget without it puts the tenant back in its own scope (silo-config/README.md,
/// Prefix caching).
/// </summary>
public sealed record TenantBudgetPatch(
    long? TokensPerMinute, int? RequestsPerMinute, int? MaxConcurrentJobs, long? PeriodQuota, QuotaPeriod? Period, PriorityClass? Priority, int? Weight,
    IReadOnlyDictionary<string, string>? RequiredLabels = null, Money? SpendCap = null, TenantPlan? Plan = null, string? SubsidyProgram = null,
    string? HomeRegion = null, PlacementPreference? Placement = null, TimeSpan? CheapestMaxExtraWait = null, string? PrefixCacheScope = null)
{
    /// <summary><paramref name="budget"/> with this patch's fields.</summary>
    public TenantBudget ApplyTo(TenantBudget budget) => budget with
    {
        TokensPerMinute = TokensPerMinute ?? budget.TokensPerMinute,
        RequestsPerMinute = RequestsPerMinute ?? budget.RequestsPerMinute,
        MaxConcurrentJobs = MaxConcurrentJobs ?? budget.MaxConcurrentJobs,
        PeriodQuota = PeriodQuota ?? budget.PeriodQuota,
        Period = Period ?? budget.Period,
        Priority = Priority ?? budget.Priority,
        Weight = Weight ?? budget.Weight,
        RequiredLabels = RequiredLabels ?? budget.RequiredLabels,
        SpendCap = SpendCap ?? budget.SpendCap,
        Plan = Plan ?? budget.Plan,
        SubsidyProgram = SubsidyProgram ?? budget.SubsidyProgram,
        HomeRegion = HomeRegion ?? budget.HomeRegion,
        Placement = Placement ?? budget.Placement,
        CheapestMaxExtraWait = CheapestMaxExtraWait ?? budget.CheapestMaxExtraWait,
        PrefixCacheScope = PrefixCacheScope ?? budget.PrefixCacheScope,
    };
}
