using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Metrics;

/// <summary>
/// A refused request with <c>n</c> &gt; 1 counts as its n choices in <c>tokengrid_requests_total{outcome="rejected"}</c>,
/// as in <c>tokengrid_rejections_total</c> (and as its choices count as admissions and succeeded requests).
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed partial class GroupRejectionMetricsTests(MetricsFixture fixture)
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task A_refused_request_of_n_choices_ends_n_rejected_requests_and_counts_n_rejections()
    {
        // Two choices of 30 tokens do not fit a tenant of 40 tokens a minute (one would).
        var (_, key) = await Server.CreateTenantAsync(new { tokens_per_minute = 40 });
        using var client = Server.Client(key);
        using var anonymous = Server.Client(null);
        var before = await anonymous.GetStringAsync("metrics");

        var problem = await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "x", max_tokens = 30, n = 2 })).Content.ReadAsStringAsync();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        Dictionary<string, double> requests, rejections;
        do
        {
            var after = await anonymous.GetStringAsync("metrics");
            requests = Delta(before, after, "tokengrid_requests_total", RejectedRequest());
            rejections = Delta(before, after, "tokengrid_rejections_total", Rejection());
        }
        while ((requests.Values.Sum() < 2 || rejections.Values.Sum() < 2) && DateTime.UtcNow < deadline && await Pause());

        var reason = Assert.Single(rejections, r => r.Value != 0).Key;
        Assert.Equal(2, rejections[reason]);
        Assert.True(requests.GetValueOrDefault(reason) == 2, $"requests_total rejected by {reason}: {requests.GetValueOrDefault(reason)} (answer: {problem})");
    }

    private static async Task<bool> Pause()
    {
        await Task.Delay(200);
        return true;
    }

    /// <summary>Per reason, how much the demo model's series matching <paramref name="series"/> grew.</summary>
    private static Dictionary<string, double> Delta(string before, string after, string name, Regex series)
    {
        var then = Sum(before, name, series);
        return Sum(after, name, series).ToDictionary(p => p.Key, p => p.Value - then.GetValueOrDefault(p.Key));
    }

    private static Dictionary<string, double> Sum(string metrics, string name, Regex series) =>
        metrics.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains("model=\"demo\"", StringComparison.Ordinal))
            .Select(l => series.Match(l)).Where(m => m.Success)
            .GroupBy(m => m.Groups["reason"].Value)
            .ToDictionary(g => g.Key, g => g.Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));

    [GeneratedRegex(@"outcome=""rejected"".*reason=""(?<reason>[^""]+)"".*\} (?<value>\S+)")]
    private static partial Regex RejectedRequest();

    [GeneratedRegex(@"reason=""(?<reason>[^""]+)"".*\} (?<value>\S+)")]
    private static partial Regex Rejection();
}
