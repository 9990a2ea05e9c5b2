using System.Globalization;
using System.Text;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Silo.Auth;

/// <summary>OpenAI's rate-limit and retry headers.</summary>
internal static class RateLimitHeaders
{
    /// <summary>Writes the six <c>x-ratelimit-*</c> headers.</summary>
    public static void Write(IHeaderDictionary headers, RateLimitSnapshot limits)
    {
        headers["x-ratelimit-limit-requests"] = limits.RequestLimit.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-remaining-requests"] = limits.RequestsRemaining.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-reset-requests"] = FormatDuration(limits.RequestsReset);
        headers["x-ratelimit-limit-tokens"] = limits.TokenLimit.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-remaining-tokens"] = limits.TokensRemaining.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-reset-tokens"] = FormatDuration(limits.TokensReset);
    }

    /// <summary>Writes <c>Retry-After</c> (whole seconds, rounded up) and <c>retry-after-ms</c>.</summary>
    public static void WriteRetryAfter(IHeaderDictionary headers, TimeSpan retryAfter)
    {
        var milliseconds = Math.Max(0, (long)Math.Ceiling(retryAfter.TotalMilliseconds));
        headers.RetryAfter = ((milliseconds + 999) / 1000).ToString(CultureInfo.InvariantCulture);
        headers["retry-after-ms"] = milliseconds.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A duration as OpenAI writes it (Go's format, to the millisecond): <c>120ms</c>, <c>1s</c>, <c>1.5s</c>,
    /// <c>6m0s</c>, <c>1h2m3s</c>; <c>0s</c> for zero or less.
    /// </summary>
    public static string FormatDuration(TimeSpan duration)
    {
        var milliseconds = (long)Math.Ceiling(duration.TotalMilliseconds);
        if (milliseconds <= 0)
        {
            return "0s";
        }

        if (milliseconds < 1000)
        {
            return milliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
        }

        var text = new StringBuilder();
        var hours = milliseconds / 3_600_000;
        var minutes = milliseconds / 60_000 % 60;
        if (hours > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{hours}h");
        }

        if (hours > 0 || minutes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{minutes}m");
        }

        var seconds = milliseconds % 60_000 / 1000m;
        text.Append(seconds.ToString("0.###", CultureInfo.InvariantCulture)).Append('s');
        return text.ToString();
    }
}
