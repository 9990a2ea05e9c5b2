using System.Globalization;
using System.Text.RegularExpressions;

namespace TokenGrid.Silo.Tests.Capacity;

/// <summary>Reads series out of the Prometheus text a silo serves at <c>/metrics</c>.</summary>
public static partial class MetricsText
{
    /// <summary>
    /// The generated-tokens counter, by the names it has had (the first one present is used): the GenAI-style name first.
    /// </summary>
    public static readonly string[] GeneratedTokensNames = ["tokengrid_generation_tokens_total", "tokengrid_tokens_generated_total"];

    /// <summary>The time-to-first-token histogram's count series, by the names it has had.</summary>
    public static readonly string[] TimeToFirstTokenCountNames =
        ["tokengrid_time_to_first_token_seconds_count", "tokengrid_job_time_to_first_token_seconds_count"];

    /// <summary>The sum of every sample of the first of <paramref name="names"/> that appears, with labels matching <paramref name="where"/>.</summary>
    public static double? Sum(string text, IEnumerable<string> names, Func<IReadOnlyDictionary<string, string>, bool>? where = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var name in names)
        {
            var samples = Samples(text, name).Where(s => where is null || where(s.Labels)).ToList();
            if (samples.Count > 0)
            {
                return samples.Sum(s => s.Value);
            }
        }

        return null;
    }

    /// <summary>Every sample of the series <paramref name="name"/>.</summary>
    public static IEnumerable<(IReadOnlyDictionary<string, string> Labels, double Value)> Samples(string text, string name)
    {
        foreach (var line in text.Split('\n'))
        {
            var match = SampleLine().Match(line);
            if (!match.Success || match.Groups["name"].Value != name)
            {
                continue;
            }

            var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            yield return (labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture));
        }
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
