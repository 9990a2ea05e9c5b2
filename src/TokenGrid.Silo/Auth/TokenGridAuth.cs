namespace TokenGrid.Silo.Auth;

/// <summary>
/// The names of TokenGrid's access classes: one authentication scheme and one authorization policy per class, and the
/// claims an authenticated caller carries (<c>HttpContext.User</c>).
/// </summary>
internal static class TokenGridAuth
{
    /// <summary>Scheme: a tenant's API key as a bearer token, resolved through its key grain.</summary>
    public const string TenantScheme = "TenantKey";

    /// <summary>Scheme: the admin API key as a bearer token.</summary>
    public const string AdminScheme = "AdminKey";

    /// <summary>Scheme: the planner key or the admin key as a bearer token.</summary>
    public const string PlannerKeyScheme = "PlannerKey";

    /// <summary>Scheme: the auditor key or the admin key as a bearer token.</summary>
    public const string AuditorScheme = "AuditorKey";

    /// <summary>Scheme: the dashboard's session cookie, made at sign-in (cookie authentication with Data Protection).</summary>
    public const string DashboardCookieScheme = "DashboardCookie";

    /// <summary>Scheme: the capacity view's credential, the planner bearer key when one is sent, else the dashboard cookie.</summary>
    public const string PlannerScheme = "Planner";

    /// <summary>
    /// Scheme: the spend view's credential, the auditor scheme when a bearer key is sent, else the dashboard cookie (a
    /// session of the auditor or the admin).
    /// </summary>
    public const string SpendViewScheme = "SpendView";

    /// <summary>Policy of the tenant API (<c>/v1</c>).</summary>
    public const string TenantPolicy = "Tenant";

    /// <summary>Policy of the admin API (<c>/admin</c>).</summary>
    public const string AdminPolicy = "Admin";

    /// <summary>Policy of the capacity view (<c>/v1/capacity</c>, the dashboards).</summary>
    public const string PlannerPolicy = "Planner";

    /// <summary>Policy of the read-only ledger and billing views (the auditor's; the admin's too).</summary>
    public const string AuditorPolicy = "Auditor";

    /// <summary>Policy of the dashboard's spend view (<c>/admin/billing/overview</c>): the auditor or admin, by key or session.</summary>
    public const string SpendViewPolicy = "SpendView";

    /// <summary>Claim: the caller's tenant.</summary>
    public const string TenantIdClaim = "tenant_id";

    /// <summary>
    /// Claim: the id of the key the caller authenticated with: a tenant key's id, or the admin or auditor key's
    /// non-secret id (<see cref="KeyIds"/>).
    /// </summary>
    public const string KeyIdClaim = "key_id";

    /// <summary>Claim: which key of its role signed a dashboard session in, so a changed key ends its sessions.</summary>
    public const string KeyFingerprintClaim = "key_fingerprint";

    /// <summary>Claim: the random id of a dashboard session, so signing out ends it on every silo.</summary>
    public const string SessionIdClaim = "session_id";

    /// <summary>Role of a tenant's key.</summary>
    public const string TenantRole = "tenant";

    /// <summary>Role of the admin key.</summary>
    public const string AdminRole = "admin";

    /// <summary>Role of the planner key.</summary>
    public const string PlannerRole = "planner";

    /// <summary>Role of the auditor key.</summary>
    public const string AuditorRole = "auditor";
}
