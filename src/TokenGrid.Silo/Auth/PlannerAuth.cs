using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace TokenGrid.Silo.Auth;

/// <summary>Who may read the capacity view.</summary>
internal enum PlannerRole
{
    /// <summary>The planner key: the capacity API and the dashboards, read-only.</summary>
    Planner,

    /// <summary>The admin key: everything the planner may, and the admin API.</summary>
    Admin,
}

/// <summary>
/// Decides whether a request may read the capacity view: a bearer key (admin or planner), or a dashboard session cookie
/// made at sign-in. The cookie holds the role, its expiry and an HMAC of both keyed by the SHA-256 of that role's key,
/// never the key itself; any silo configured with the same keys accepts it, and changing a key ends its sessions.
/// </summary>
internal sealed class PlannerAuth
{
    /// <summary>The session cookie's name.</summary>
    public const string CookieName = "tokengrid_dashboard";

    private readonly AdminKey _adminKey;
    private readonly byte[]? _plannerHash;
    private readonly TimeProvider _time;

    public PlannerAuth(AdminKey adminKey, IOptions<PlannerAuthOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _adminKey = adminKey;
        _time = time;
        SessionLifetime = options.Value.SessionLifetime;
        _plannerHash = string.IsNullOrEmpty(options.Value.ApiKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.ApiKey));
    }

    /// <summary>How long a session lasts.</summary>
    public TimeSpan SessionLifetime { get; }

    /// <summary>The role <paramref name="key"/> grants, or null for any other key (tenant keys included).</summary>
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

    /// <summary>The role of the request's bearer key, else of its session cookie; null when it has neither valid.</summary>
    public PlannerRole? Authenticate(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (BearerToken.Read(request) is { } key)
        {
            return RoleOf(key);
        }

        return request.Cookies.TryGetValue(CookieName, out var cookie) ? Verify(cookie) : null;
    }

    /// <summary>A session cookie value for <paramref name="role"/>, valid for <see cref="SessionLifetime"/>.</summary>
    public string Issue(PlannerRole role)
    {
        var expires = (_time.GetUtcNow() + SessionLifetime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var payload = $"{role.ToString().ToLowerInvariant()}.{expires}";
        return $"{payload}.{Convert.ToBase64String(Sign(role, payload)!).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
    }

    private PlannerRole? Verify(string cookie)
    {
        var parts = cookie.Split('.');
        if (parts.Length != 3 || !Enum.TryParse<PlannerRole>(parts[0], ignoreCase: true, out var role)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || DateTimeOffset.FromUnixTimeSeconds(Math.Min(expires, DateTimeOffset.MaxValue.ToUnixTimeSeconds())) <= _time.GetUtcNow())
        {
            return null;
        }

        var expected = Sign(role, $"{parts[0]}.{parts[1]}");
        byte[] given;
        try
        {
            var text = parts[2].Replace('-', '+').Replace('_', '/');
            given = Convert.FromBase64String(text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '='));
        }
        catch (FormatException)
        {
            return null;
        }

        return expected is not null && CryptographicOperations.FixedTimeEquals(expected, given) ? role : null;
    }

    /// <summary>HMAC-SHA256 of the payload keyed by the role's key hash; null when the role has no key.</summary>
    private byte[]? Sign(PlannerRole role, string payload)
    {
        var key = role == PlannerRole.Admin ? SHA256.HashData(Encoding.UTF8.GetBytes(_adminKey.Secret)) : _plannerHash;
        return key is null ? null : HMACSHA256.HashData(key, Encoding.UTF8.GetBytes("tokengrid-dashboard/" + payload));
    }
}
