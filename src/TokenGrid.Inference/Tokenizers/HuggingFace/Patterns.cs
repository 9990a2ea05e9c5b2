using System.Text.RegularExpressions;

namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>
/// A <c>pattern</c> of a Split, Replace normalizer or Replace decoder: <c>{"String": "..."}</c> (a literal) or
/// <c>{"Regex": "..."}</c>. The Rust library runs Oniguruma over code points; <see cref="RegexTranslator"/>
/// makes the .NET pattern match the same code points in UTF-16.
/// </summary>
internal static class Patterns
{
    public static Regex Read(JsonConfig pattern)
    {
        if (pattern.OptionalString("String") is { } literal)
        {
            return new Regex(Regex.Escape(literal), RegexOptions.CultureInvariant);
        }

        if (pattern.OptionalString("Regex") is { } regex)
        {
            try
            {
                return new Regex(RegexTranslator.Translate(regex), RegexOptions.Compiled | RegexOptions.CultureInvariant);
            }
            catch (ArgumentException e)
            {
                throw pattern.Child("Regex").Invalid($"is not a regular expression .NET can run ({e.Message})");
            }
        }

        throw pattern.Invalid("must be {\"String\": ...} or {\"Regex\": ...}");
    }
}
