using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace TokenGrid.Silo.Auth;

/// <summary>Who may sign in to the dashboard: the capacity view's readers, and the auditor for the spend view.</summary>
internal enum PlannerRole
{
    /// <summary>The planner key: the capacity API and the dashboards, read-only.</summary>
    Planner,

    /// <summary>The admin key: everything the planner may, and the admin API.</summary>
    Admin,

    /// <summary>The auditor key: only the dashboard's spend view (a session; its bearer key opens no capacity view).</summary>
    Auditor,
}

/// <summary>
/// The dashboard's credentials: the planner key and the admin key (the capacity view), the auditor key (the spend view
/// only), and the claims a session signed in with one carries. A session (the dashboard cookie, protected by ASP.NET Core Data Protection) holds the role and a fingerprint
/// of the key that signed it in, never the key; changing a key ends its sessions.
/// </summary>
internal sealed class PlannerAuth
{
    /// <summary>The session cookie's name.</summary>
    public const string CookieName = "tokengrid_dashboard";

    private readonly AdminKey _adminKey;
    private readonly byte[]? _plannerHash;
    private readonly byte[]? _auditorHash;
    private readonly string _adminFingerprint;
    private readonly string? _plannerFingerprint;
    private readonly string? _auditorFingerprint;

    public PlannerAuth(AdminKey adminKey, IOptions<PlannerAuthOptions> options, IOptions<AuditorAuthOptions> auditor)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(auditor);
        _adminKey = adminKey;
        SessionLifetime = options.Value.SessionLifetime;
        SecureCookie = options.Value.SecureCookie;
        _plannerHash = string.IsNullOrEmpty(options.Value.ApiKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.ApiKey));
        _adminFingerprint = Fingerprint(SHA256.HashData(Encoding.UTF8.GetBytes(adminKey.Secret)));
        _plannerFingerprint = _plannerHash is null ? null : Fingerprint(_plannerHash);
        _auditorHash = string.IsNullOrEmpty(auditor.Value.ApiKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(auditor.Value.ApiKey));
        _auditorFingerprint = _auditorHash is null ? null : Fingerprint(_auditorHash);
    }

    /// <summary>How long a session lasts.</summary>
    public TimeSpan SessionLifetime { get; }

    /// <summary>Whether the session cookie is always <c>Secure</c> (else only over HTTPS as the silo sees it).</summary>
    public bool SecureCookie { get; }

    /// <summary>
    /// The role <paramref name="key"/> grants on the capacity view (planner or admin), or null for any other key (the
    /// auditor's and tenant keys included).
    /// </summary>
    public PlannerRole? RoleOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_adminKey.Matches(key))
        {
            return PlannerRole.Admin;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        return _plannerHash is not null && CryptographicOperations.FixedTimeEquals(hash, _plannerHash) ? PlannerRole.Planner : null;
    }

    /// <summary>The role a dashboard session signed in with <paramref name="key"/> gets: <see cref="RoleOf"/>, or the auditor's.</summary>
    public PlannerRole? SessionRoleOf(string key)
    {
        if (RoleOf(key) is { } role)
        {
            return role;
        }

        return _auditorHash is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(key)), _auditorHash)
            ? PlannerRole.Auditor
            : null;
    }

    /// <summary>The claims of a caller holding <paramref name="role"/>'s key: its role and the key's fingerprint.</summary>
    public IEnumerable<Claim> ClaimsOf(PlannerRole role)
    {
        var name = RoleName(role);
        return [new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, name), new Claim(TokenGridAuth.KeyFingerprintClaim, FingerprintOf(role)!)];
    }

    /// <summary>Whether a session's claims were signed in with the key its role has now.</summary>
    public bool IsCurrent(ClaimsPrincipal session)
    {
        ArgumentNullException.ThrowIfNull(session);
        PlannerRole? role = session.IsInRole(TokenGridAuth.AdminRole) ? PlannerRole.Admin
            : session.IsInRole(TokenGridAuth.PlannerRole) ? PlannerRole.Planner
            : session.IsInRole(TokenGridAuth.AuditorRole) ? PlannerRole.Auditor
            : null;
        var fingerprint = session.FindFirstValue(TokenGridAuth.KeyFingerprintClaim);
        return role is { } r && fingerprint is not null && FingerprintOf(r) is { } current
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(fingerprint), Encoding.ASCII.GetBytes(current));
    }

    /// <summary>The role's claim value.</summary>
    public static string RoleName(PlannerRole role) => role switch
    {
        PlannerRole.Admin => TokenGridAuth.AdminRole,
        PlannerRole.Auditor => TokenGridAuth.AuditorRole,
        _ => TokenGridAuth.PlannerRole,
    };

    private string? FingerprintOf(PlannerRole role) => role switch
    {
        PlannerRole.Admin => _adminFingerprint,
        PlannerRole.Auditor => _auditorFingerprint,
        _ => _plannerFingerprint,
    };

    /// <summary>A keyed hash of the key's hash: names the key without revealing anything the key check uses.</summary>
    private static string Fingerprint(byte[] keyHash) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("tokengrid-dashboard-session"), keyHash).AsSpan(0, 16));
}
