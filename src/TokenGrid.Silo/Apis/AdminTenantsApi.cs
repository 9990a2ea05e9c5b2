using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Audit;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.Audit;
using TokenGrid.Silo.Options;
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
        tenants.MapGet("/", ListTenantsAsync).WithName("ListTenants").Documents(
            ("limit", true, "Tenants per page, in id order. Default and maximum: configured."),
            ("after", false, "The last_id of the previous page: the page of tenants after that id."));
        tenants.MapGet("/{id}", GetTenantAsync).WithName("GetTenant").ProducesProblem(StatusCodes.Status404NotFound);
        tenants.MapPut("/{id}", ReplaceTenantAsync).WithName("ReplaceTenant").Accepts<UpdateTenantRequest>("application/json");
        tenants.MapPatch("/{id}", PatchTenantAsync).WithName("PatchTenant").Accepts<PatchTenantRequest>("application/json");
        tenants.MapDelete("/{id}", DeleteTenantAsync).WithName("DeleteTenant");
        return admin;
    }

    internal static async Task<Created<TenantInfo>> CreateTenantAsync(HttpContext http, IGrainFactory grains, ModelCatalog catalog, AdminAudit audit)
    {
        var request = await RequestJson.ReadAsync<CreateTenantRequest>(http);
        if (!TenantIds.IsValid(request.Id))
        {
            throw new ApiProblemException(ApiProblems.BadRequest($"id: {TenantIds.Rule}", "invalid_value", "id"));
        }

        var id = request.Id!;
        var spec = new TenantSpec(request.Name ?? id, request.Budget ?? new TenantBudget(), request.Enabled ?? true);
        RequireCatalogModels(catalog, spec.Budget.Plan);
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

    /// <summary>
    /// A negotiated price is only for a model of the catalog, as the rate card's prices are (a price for another model
    /// would never apply, and a typo would go unnoticed).
    /// </summary>
    private static void RequireCatalogModels(ModelCatalog catalog, TenantPlan? plan)
    {
        if (plan?.Negotiated is not { Count: > 0 } negotiated)
        {
            return;
        }

        var known = catalog.Models.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < negotiated.Count; i++)
        {
            if (negotiated[i] is { } price && (string.IsNullOrWhiteSpace(price.Model) || !known.Contains(price.Model)))
            {
                var param = $"budget.plan.negotiated[{i}].model";
                throw new ApiProblemException(ApiProblems.BadRequest(
                    $"{param} '{price.Model}' is not a model of the catalog ({string.Join(", ", known.Order())}).", "invalid_value", param));
            }
        }
    }

    /// <summary>
    /// <c>?limit=&amp;after=</c>, a page of tenants in id order: one grain call per tenant of the page, so the tenants a
    /// page reads (and activates) are bounded however many there are; the whole list at once read every tenant.
    /// </summary>
    /// <remarks>
    /// The page is cut from the directory's sorted ids here, not by a new directory method: a method a release adds fails
    /// on a silo of the previous release during a rolling update (k8s/README.md, "Upgrades"). The ids are about 8 bytes
    /// a tenant (40 KB at 5,000).
    /// </remarks>
    internal static async Task<Ok<ListPage<TenantInfo>>> ListTenantsAsync(HttpRequest request, IGrainFactory grains, IOptions<ApiOptions> options)
    {
        var pageSize = (int)(QueryValues.Integer(request, "limit", 1, options.Value.MaxPageSize) ?? options.Value.DefaultPageSize);
        var after = QueryValues.Single(request, "after");
        var listed = await grains.GetGrain<ITenantDirectoryGrain>(0).ListAsync();
        var all = listed as List<string> ?? [.. listed];
        var start = 0;
        if (after is not null)
        {
            var index = all.BinarySearch(after, StringComparer.Ordinal);
            start = index >= 0 ? index + 1 : ~index;
        }

        var ids = all.GetRange(start, Math.Min(pageSize + 1, all.Count - start));
        var page = ids.Take(pageSize).ToList();
        var infos = await Task.WhenAll(page.Select(id => grains.GetGrain<ITenantGrain>(id).GetAsync()));
        return TypedResults.Ok(new ListPage<TenantInfo>([.. infos.OfType<TenantInfo>()], ids.Count > pageSize, page.LastOrDefault()));
    }

    internal static async Task<Ok<TenantInfo>> GetTenantAsync(string id, IGrainFactory grains) =>
        TypedResults.Ok(await RequireAsync(grains.GetGrain<ITenantGrain>(id), id));

    /// <summary>Replaces the budget (fields left out take their defaults); name and enabled are kept unless given.</summary>
    internal static async Task<Ok<TenantInfo>> ReplaceTenantAsync(string id, HttpContext http, IGrainFactory grains, ModelCatalog catalog)
    {
        RequireValidId(id);
        var request = await RequestJson.ReadAsync<UpdateTenantRequest>(http);
        var budget = request.Budget ?? new TenantBudget();
        RequireCatalogModels(catalog, budget.Plan);
        await RequireProgramAsync(grains, budget);
        return TypedResults.Ok(await ChangeAsync(id, http, grains, new TenantPatch(request.Name, request.Enabled, Budget: budget)));
    }

    /// <summary>Changes only the fields given, budget fields included.</summary>
    internal static async Task<Ok<TenantInfo>> PatchTenantAsync(string id, HttpContext http, IGrainFactory grains, ModelCatalog catalog)
    {
        RequireValidId(id);
        var request = await RequestJson.ReadAsync<PatchTenantRequest>(http);
        RequireCatalogModels(catalog, request.Budget?.Plan);
        await RequireProgramAsync(grains, request.Budget is { } changes ? new TenantBudget { SubsidyProgram = changes.SubsidyProgram } : null);
        return TypedResults.Ok(await ChangeAsync(id, http, grains, new TenantPatch(request.Name, request.Enabled, BudgetChanges: request.Budget)));
    }

    /// <summary>
    /// Has the tenant's grain apply <paramref name="patch"/> to the tenant as it is then and record the change in the
    /// audit log in its turn: a merge here, on a copy read earlier, would undo a concurrent change and audit a stale
    /// before.
    /// </summary>
    private static Task<TenantInfo> ChangeAsync(string id, HttpContext http, IGrainFactory grains, TenantPatch patch) =>
        grains.GetGrain<ITenantGrain>(id).PatchAsync(patch, AdminAudit.ActorOf(http));

    /// <summary>An id no tenant can have is a tenant not found (nothing to ask a grain about).</summary>
    private static void RequireValidId(string id)
    {
        if (!TenantIds.IsValid(id))
        {
            throw new ApiProblemException(ApiProblems.TenantNotFound(id));
        }
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
