using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Dashboard;

/// <summary>
/// The Orleans Dashboard's per-silo views (<c>SiloStats</c>, <c>SiloCounters</c>, <c>SiloProperties</c>,
/// <c>SiloMetadata</c>, <c>HistoricalStats</c>) take a silo address from the path. One that does not parse fails deep in
/// Orleans, activating the dashboard's proxy grain, as a 500; this filter answers it with a 400 problem first.
/// </summary>
internal sealed class SiloAddressFilter : IEndpointFilter
{
    private static readonly string[] SiloViews =
        [.. new[] { "SiloStats", "SiloCounters", "SiloProperties", "SiloMetadata", "HistoricalStats" }.Select(view => $"{DashboardHosting.OrleansDashboardPath}/{view}/")];

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (http.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } pattern }
            && SiloViews.Any(view => pattern.StartsWith(view, StringComparison.Ordinal))
            && http.Request.RouteValues.Values.OfType<string>().FirstOrDefault() is { } address
            && !IsSiloAddress(address))
        {
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"'{address}' is not a silo address (such as 10.0.0.5:11111@123456789).", "invalid_value", "address"));
        }

        return next(context);
    }

    private static bool IsSiloAddress(string text)
    {
        try
        {
            SiloAddress.FromParsableString(text);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return false;
        }
    }
}
