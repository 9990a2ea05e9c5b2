using System.Globalization;
using Microsoft.Extensions.Options;
using Orleans.Serialization.Configuration;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Dashboard;

/// <summary>
/// Checks what the Orleans Dashboard takes from a request before it acts on it, and keeps its failures problems:
/// <list type="bullet">
/// <item>The per-silo views (<c>SiloStats</c>, <c>SiloCounters</c>, <c>SiloProperties</c>, <c>SiloMetadata</c>,
/// <c>HistoricalStats</c>) take a silo address from the path and call that silo. One that does not parse is a 400; one
/// that is not a live member of this cluster is a 404, answered before anything connects (the dashboard would otherwise
/// open an Orleans connection to any host and port a planner names).</item>
/// <item><c>GrainState</c> takes <c>grainType</c> and <c>grainId</c> from the query; a missing, repeated or unknown one is
/// a 400 naming it (the dashboard would answer 200 with an error string).</item>
/// <item>The dashboard's own 503 (a plain-text "lost connectivity") becomes a 503 problem with <c>Retry-After</c>.</item>
/// </list>
/// </summary>
internal sealed class OrleansDashboardFilter : IEndpointFilter
{
    private static readonly string[] SiloViews =
        [.. new[] { "SiloStats", "SiloCounters", "SiloProperties", "SiloMetadata", "HistoricalStats" }.Select(view => $"{DashboardHosting.OrleansDashboardPath}/{view}/")];

    private const string GrainStateView = $"{DashboardHosting.OrleansDashboardPath}/GrainState";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (http.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } pattern })
        {
            if (SiloViews.Any(view => pattern.StartsWith(view, StringComparison.Ordinal))
                && http.Request.RouteValues.Values.OfType<string>().FirstOrDefault() is { } address)
            {
                RequireMember(address, http.RequestServices.GetRequiredService<IClusterMembershipService>());
            }
            else if (pattern == GrainStateView)
            {
                RequireGrain(http.Request.Query, http.RequestServices.GetRequiredService<IOptions<TypeManifestOptions>>().Value);
            }
        }

        var result = await next(context);
        return result is IStatusCodeHttpResult { StatusCode: StatusCodes.Status503ServiceUnavailable } and not ProblemHttpResult
            ? throw new ApiProblemException(ApiProblems.Unavailable("The dashboard lost connectivity with a silo of the cluster; retry shortly."))
            : result;
    }

    /// <summary>
    /// A live member of the cluster, or a 400 (not an address) or 404 (not a member, or a dead one: its address may
    /// belong to another host by now).
    /// </summary>
    private static void RequireMember(string text, IClusterMembershipService membership)
    {
        SiloAddress address;
        try
        {
            address = SiloAddress.FromParsableString(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"'{text}' is not a silo address (such as 10.0.0.5:11111@123456789).", "invalid_value", "address"));
        }

        if (!membership.CurrentSnapshot.Members.TryGetValue(address, out var member) || member.Status == SiloStatus.Dead)
        {
            throw new ApiProblemException(new ApiProblem(404, "Silo not found",
                $"'{text}' is not a live silo of this cluster (the dashboard lists them).", "silo_not_found", "address"));
        }
    }

    /// <summary>One grain type the silo hosts and one key of that type's kind, or a 400 naming the parameter.</summary>
    private static void RequireGrain(IQueryCollection query, TypeManifestOptions manifest)
    {
        var typeName = Single(query, "grainType");
        var type = manifest.InterfaceImplementations.FirstOrDefault(t => t.FullName == typeName && typeof(IGrain).IsAssignableFrom(t))
            ?? throw Invalid($"grainType '{typeName}' is not a grain type of this cluster (GrainTypes lists them).", "grainType");
        var id = Single(query, "grainId");
        if (!IsKeyOf(type, id))
        {
            throw Invalid($"grainId '{id}' is not a key of {typeName} (compound keys are written 'key,extension').", "grainId");
        }
    }

    private static string Single(IQueryCollection query, string name) =>
        query[name] is { Count: 1 } values && values[0] is { Length: > 0 } value
            ? value
            : throw Invalid($"The query parameter '{name}' is required, once.", name);

    /// <summary>Whether <paramref name="id"/> reads as a key of <paramref name="type"/>'s kind, as the dashboard reads it.</summary>
    private static bool IsKeyOf(Type type, string id)
    {
        var parts = id.Split(',');
        return type switch
        {
            _ when typeof(IGrainWithGuidCompoundKey).IsAssignableFrom(type) => parts.Length == 2 && Guid.TryParse(parts[0], out _),
            _ when typeof(IGrainWithIntegerCompoundKey).IsAssignableFrom(type) => parts.Length == 2 && IsInteger(parts[0]),
            _ when typeof(IGrainWithIntegerKey).IsAssignableFrom(type) => IsInteger(id),
            _ when typeof(IGrainWithGuidKey).IsAssignableFrom(type) => Guid.TryParse(id, out _),
            _ => typeof(IGrainWithStringKey).IsAssignableFrom(type),
        };
    }

    private static bool IsInteger(string text) => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);

    private static ApiProblemException Invalid(string detail, string param) => new(ApiProblems.BadRequest(detail, "invalid_value", param));
}
