namespace TokenGrid.Inference.Constraints;

/// <summary>
/// The pattern behind each supported JSON Schema string format. Each accepts only strings JsonSchema.Net 8.0.5
/// validates for that format (which checks RFC 3339 dates against the calendar). Where the format allows more than
/// a model needs, the pattern is deliberately stricter: uppercase <c>T</c> and <c>Z</c> only, no leap second,
/// lowercase hex, hostnames of at most six lowercase labels of up to 31 characters, http(s) URIs only, and so on.
/// </summary>
internal static class FormatPatterns
{
    // Years 0001-9999; a leap year is divisible by 4, and a century only when divisible by 400.
    private const string Year = @"(?:\d{3}[1-9]|\d\d[1-9]0|\d[1-9]00|[1-9]000)";
    private const string LeapYear = @"(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)";
    private const string Date = "(?:" + Year + @"-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
        + @"|02-(?:0[1-9]|1\d|2[0-8]))|" + LeapYear + "-02-29)";
    private const string Time = @"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)";

    // No "--" anywhere: IDNA reserves hyphens at a label's third and fourth places (as in "xn--").
    private const string Label = @"[a-z](?:-?[a-z0-9]){0,30}";
    private const string Hostname = Label + @"(?:\." + Label + "){0,5}";
    private const string Octet = @"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)";
    private const string Hex = "[0-9a-f]";

    /// <summary>The anchored pattern of <paramref name="format"/>, or null when the format is not supported.</summary>
    public static string? Get(string format) => format switch
    {
        "date" => $"^{Date}$",
        "time" => $"^{Time}$",
        "date-time" => $"^{Date}T{Time}$",
        "uuid" => $"^{Hex}{{8}}-{Hex}{{4}}-{Hex}{{4}}-{Hex}{{4}}-{Hex}{{12}}$",
        "ipv4" => $@"^{Octet}(?:\.{Octet}){{3}}$",
        "hostname" => $"^{Hostname}$",
        // A dotted local part of at most 50 characters; a domain of 2 to 4 labels ending in letters.
        "email" => @"^[a-z0-9_+-]{1,16}(?:\.[a-z0-9_+-]{1,16}){0,2}@(?:" + Label + @"\.){1,3}[a-z]{2,10}$",
        // http(s) with a hostname, an optional port, path segments, query and fragment of unreserved characters.
        "uri" => "^https?://" + Hostname + @"(?::[1-9]\d{0,3})?(?:/[a-zA-Z0-9._~-]*)*"
            + @"(?:\?[a-zA-Z0-9._~=&-]*)?(?:#[a-zA-Z0-9._~-]*)?$",
        _ => null,
    };
}
