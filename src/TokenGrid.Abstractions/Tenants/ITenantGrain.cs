using TokenGrid.Abstractions.Billing;
using Orleans.Concurrency;

namespace TokenGrid.Abstractions.Tenants;

/// <summary>
/// The one place a tenant's budget is decided, cluster-wide (key: tenant id). Admissions and settlements interleave
/// so their saves can be grouped, but each is decided alone, in arrival order, on the state the previous one left, and
/// answered only once saved: concurrent requests can never overspend by a token.
/// </summary>
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>Creates the tenant; fails if it exists.</summary>
    Task<TenantInfo> CreateAsync(TenantSpec spec);

    /// <summary>Replaces name, budget and enabled flag; fails if the tenant does not exist.</summary>
    Task<TenantInfo> UpdateAsync(TenantSpec spec);

    /// <summary>
    /// Applies <paramref name="patch"/> to the tenant as it is when the patch's turn comes, so concurrent changes of
    /// different fields all survive, and records the change in the audit log as <paramref name="actor"/>'s (the tenant
    /// before and after it) before the next change may start: a tenant's entries are in the order of its changes, each
    /// one's before the previous one's after. Fails as <see cref="UpdateAsync"/> does; when the change is saved but not
    /// recorded, with <c>ChangeNotAuditedException</c>.
    /// </summary>
    Task<TenantInfo> PatchAsync(TenantPatch patch, string actor);

    /// <summary>
    /// Marks the tenant deleted: disabled for good, never changed, enabled or given keys again (its ledger and job records
    /// stay). Idempotent; fails if the tenant does not exist.
    /// </summary>
    Task<TenantInfo> DeleteAsync();

    /// <summary>The tenant, or null when it does not exist.</summary>
    [ReadOnly]
    Task<TenantInfo?> GetAsync();

    /// <summary>
    /// Reserves prompt + max tokens for a job, or says why not. Records the job in the tenant's job list either way. A
    /// repeat for a job admitted and not yet settled reserves nothing and answers as its admission did, before any limit
    /// or price is checked (what the job holds never counts against itself); a repeat after settlement is refused.
    /// </summary>
    [AlwaysInterleave]
    Task<AdmissionResult> AdmitAsync(AdmissionRequest request);

    /// <summary>
    /// Reserves for several jobs in one decision, all or none: the choices of a request with <c>n</c> &gt; 1. The checks
    /// see the sum of the reservations (the prompt is reserved by the first request only: the others give 0 prompt
    /// tokens), one request of the requests-per-minute limit, and every job against the concurrency limit. Each job then
    /// finds its reservation open when it asks <see cref="AdmitAsync"/>, which answers it as admitted. The answer is the
    /// group's: <see cref="AdmissionResult.Reserved"/> is the sum.
    /// </summary>
    [AlwaysInterleave]
    Task<AdmissionResult> AdmitGroupAsync(IReadOnlyList<AdmissionRequest> requests);

    /// <summary>Charges the tokens a job used and refunds the rest; idempotent by job id.</summary>
    [AlwaysInterleave]
    Task<Settlement> SettleAsync(SettlementRequest request);

    /// <summary>
    /// Whether the tenant ever admitted <paramref name="jobId"/> (open, or settled), or keeps the subsidy allowance of that
    /// reservation id (or has still to return it). A subsidy program asks it before it releases a reservation the
    /// tenant's saved state never took in.
    /// </summary>
    [ReadOnly]
    Task<bool> HoldsJobAsync(string jobId);

    /// <summary>The latest spend threshold events (at most <c>TenantState.SpendEventWindow</c>), oldest first.</summary>
    [ReadOnly]
    Task<IReadOnlyList<SpendThresholdEvent>> GetSpendEventsAsync();

    /// <summary>
    /// Sets (or replaces) the URL spend threshold events are posted to, with a new signing secret, returned this once.
    /// Events raised from now on are posted; the URL must already have passed the API's checks.
    /// </summary>
    Task<IssuedSpendWebhook> SetSpendWebhookAsync(string url);

    /// <summary>The tenant's spend webhook (without its secret), or null.</summary>
    [ReadOnly]
    Task<SpendWebhook?> GetSpendWebhookAsync();

    /// <summary>Removes the spend webhook; events not yet posted are dropped. False when there was none.</summary>
    Task<bool> RemoveSpendWebhookAsync();

    /// <summary>The rate-limit figures now, without taking anything.</summary>
    [ReadOnly]
    Task<RateLimitSnapshot> GetRateLimitsAsync();

    /// <summary>Budget, remaining, reserved and charged tokens for the current period, per model.</summary>
    [ReadOnly]
    Task<TenantUsage> GetUsageAsync();

    /// <summary>Ledger entries with sequence greater than <paramref name="afterSequence"/>, oldest first.</summary>
    [ReadOnly]
    Task<LedgerPage> GetLedgerAsync(long afterSequence, int limit);

    /// <summary>The tenant's job ids, newest first, starting after <paramref name="beforeJobId"/> when given.</summary>
    [ReadOnly]
    Task<IReadOnlyList<string>> ListJobIdsAsync(string? beforeJobId, int limit);

    /// <summary>Issues a new API key; the secret is in the result only.</summary>
    Task<IssuedApiKey> IssueKeyAsync(string name);

    /// <summary>
    /// Lists a key whose secret is kept outside TokenGrid (a configured one, given by its hash only) as one of the
    /// tenant's keys and binds it, so it is listed, revoked and revoked with the tenant like an issued key. Idempotent by
    /// hash, as every start of every silo asks: a key listed under <paramref name="keyHash"/> stays as it is (a revoked
    /// one stays revoked). The key takes a new id when <paramref name="key"/>'s is listed for another hash; a deleted
    /// tenant lists it revoked. Returns the key as listed.
    /// </summary>
    /// <param name="keyHash">The lowercase hex SHA-256 of the secret (the <see cref="IApiKeyGrain"/>'s key).</param>
    /// <param name="key">The key's id, name, prefix and creation time.</param>
    Task<ApiKeyInfo> AddConfiguredKeyAsync(string keyHash, ApiKeyInfo key);

    /// <summary>Revokes a key at once; false when the tenant has no such key.</summary>
    Task<bool> RevokeKeyAsync(string keyId);

    /// <summary>The tenant's keys, without secrets.</summary>
    [ReadOnly]
    Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync();
}

/// <summary>
/// Resolves an API key to its tenant (key: the hex SHA-256 of the secret, so the secret is never stored).
/// </summary>
public interface IApiKeyGrain : IGrainWithStringKey
{
    /// <summary>Binds this hash to a key of a tenant.</summary>
    Task BindAsync(ApiKeyInfo key);

    /// <summary>Marks the key revoked; lookups fail from now on.</summary>
    Task RevokeAsync(DateTimeOffset at);

    /// <summary>The key when it exists and is not revoked, otherwise null.</summary>
    [ReadOnly]
    Task<ApiKeyInfo?> ResolveAsync();
}

/// <summary>The list of tenant ids (one activation, key 0), for the admin API.</summary>
public interface ITenantDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Adds a tenant id.</summary>
    Task AddAsync(string tenantId);

    /// <summary>All tenant ids, sorted.</summary>
    [ReadOnly]
    Task<IReadOnlyList<string>> ListAsync();
}
