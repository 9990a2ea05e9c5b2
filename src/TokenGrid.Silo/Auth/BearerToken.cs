using Microsoft.Net.Http.Headers;

namespace TokenGrid.Silo.Auth;

/// <summary>Reads <c>Authorization: Bearer KEY</c>.</summary>
internal static class BearerToken
{
    /// <summary>The bearer token of the request, or null when there is none.</summary>
    public static string? Read(HttpRequest request)
    {
        var header = request.Headers[HeaderNames.Authorization].ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = header[scheme.Length..].Trim();
        return token.Length > 0 ? token : null;
    }
}
