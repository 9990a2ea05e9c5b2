using System.Text.RegularExpressions;
using ADRaffy.ENSNormalize;

namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>A Hugging Face normalizer: rewrites one piece of text before pre-tokenization.</summary>
internal abstract class Normalizer
{
    public abstract string Normalize(string text);

    /// <summary>Reads <c>normalizer</c> (or one step of a Sequence); refuses any type it does not implement.</summary>
    public static Normalizer? Read(JsonConfig config)
    {
        if (config.IsNull)
        {
            return null;
        }

        return config.Type switch
        {
            "Sequence" => new SequenceNormalizer([.. config.Items("normalizers").Select(step => Read(step) ?? throw step.Invalid("is null"))]),
            "Prepend" => new PrependNormalizer(config.String("prepend")),
            "Replace" => new ReplaceNormalizer(Patterns.Read(config.Child("pattern")), config.String("content")),
            "Strip" => new StripNormalizer(config.Bool("strip_left", true), config.Bool("strip_right", true)),
            "Lowercase" => new LowercaseNormalizer(),
            "NFC" => new UnicodeNormalizer(composed: true),
            "NFD" => new UnicodeNormalizer(composed: false),
            // NFKC/NFKD need Unicode's compatibility mappings: .NET has them only through ICU, which invariant
            // globalization (on in this repository) switches off, and no served managed package carries them.
            _ => throw config.UnsupportedType(),
        };
    }
}

internal sealed class SequenceNormalizer(IReadOnlyList<Normalizer> steps) : Normalizer
{
    public override string Normalize(string text)
    {
        foreach (var step in steps)
        {
            text = step.Normalize(text);
        }

        return text;
    }
}

/// <summary><c>Prepend</c>: puts a string before any non-empty text.</summary>
internal sealed class PrependNormalizer(string prepend) : Normalizer
{
    public override string Normalize(string text) => text.Length == 0 ? text : prepend + text;
}

/// <summary><c>Replace</c>: every match of the pattern becomes the content.</summary>
internal sealed class ReplaceNormalizer(Regex pattern, string content) : Normalizer
{
    public override string Normalize(string text) => pattern.Replace(text, content.Replace("$", "$$", StringComparison.Ordinal));
}

/// <summary><c>Strip</c>: removes leading and/or trailing Unicode white space.</summary>
internal sealed class StripNormalizer(bool left, bool right) : Normalizer
{
    public override string Normalize(string text) => (left, right) switch
    {
        (true, true) => text.Trim(),
        (true, false) => text.TrimStart(),
        (false, true) => text.TrimEnd(),
        _ => text,
    };
}

/// <summary><c>Lowercase</c>: Unicode lower case of each character.</summary>
internal sealed class LowercaseNormalizer : Normalizer
{
    public override string Normalize(string text) => text.ToLowerInvariant();
}

/// <summary>
/// <c>NFC</c> / <c>NFD</c>. .NET's own <c>string.Normalize</c> does nothing under invariant globalization (on in
/// this repository: measured, <c>"e\u0301".Normalize()</c> stays two characters), so the Unicode data comes from
/// ADRaffy.ENSNormalize, a small managed implementation of Unicode 17 normalization.
/// </summary>
internal sealed class UnicodeNormalizer(bool composed) : Normalizer
{
    public override string Normalize(string text)
    {
        // Below U+0300 nothing composes or decomposes, except a base letter followed by a combining mark.
        if (IsStable(text))
        {
            return text;
        }

        return composed ? ENSNormalize.NF.NFC(text) : ENSNormalize.NF.NFD(text);
    }

    private bool IsStable(string text)
    {
        foreach (var c in text)
        {
            if (c >= (composed ? '\u0300' : '\u00C0'))
            {
                return false;
            }
        }

        return true;
    }
}
