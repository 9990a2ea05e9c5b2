using System.Text.RegularExpressions;

namespace TokenGrid.Silo.Apis;

/// <summary>The shape of tenant ids the API accepts.</summary>
internal static partial class TenantIds
{
    /// <summary>What a tenant id must look like.</summary>
    public const string Rule = "1 to 64 characters: lowercase letters, digits, '-' and '_', starting with a letter or digit.";

    /// <summary>Whether <paramref name="id"/> is a valid tenant id.</summary>
    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);

    // \z, not $: $ also matches before a final newline, which would let "acme\n" through.
    [GeneratedRegex(@"^[a-z0-9][a-z0-9_-]{0,63}\z")]
    private static partial Regex Pattern();
}
