namespace TokenGrid.Inference.Constraints;

/// <summary>
/// The pattern behind each supported JSON Schema string format. Each accepts only strings JsonSchema.Net 8.0.5
/// validates for that format, and is deliberately stricter than the format where a looser pattern would need
/// calendar or numeric checks a regular language cannot make (or could make only at a great cost in states):
/// years 1000-8999, days 01-28, offsets within the ±14:00 .NET accepts, lowercase hex and hostnames, and so on.
/// </summary>
internal static class FormatPatterns
{
    private const string Date = @"[1-8]\d{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])";
    private const string Time = @"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:0\d|1[0-3]):[0-5]\d)";
    // No "--" anywhere: IDNA reserves hyphens at a label's third and fourth places (as in "xn--").
    private const string Label = @"[a-z](?:-?[a-z0-9]){0,20}";
    private const string Hostname = Label + @"(?:\." + Label + "){0,4}";
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
