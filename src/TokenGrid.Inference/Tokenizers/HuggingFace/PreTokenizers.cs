using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>A Hugging Face pre-tokenizer: splits each piece into smaller pieces (and may rewrite them).</summary>
internal abstract class PreTokenizer
{
    public abstract void Split(Piece piece, List<Piece> output);

    /// <summary>Reads <c>pre_tokenizer</c> (or one step of a Sequence); refuses any type it does not implement.</summary>
    public static PreTokenizer? Read(JsonConfig config)
    {
        if (config.IsNull)
        {
            return null;
        }

        return config.Type switch
        {
            "Sequence" => new SequencePreTokenizer([.. config.Items("pretokenizers").Select(step => Read(step) ?? throw step.Invalid("is null"))]),
            "ByteLevel" => new ByteLevelPreTokenizer(config.Bool("add_prefix_space", true), config.Bool("use_regex", true)),
            "Split" => new SplitPreTokenizer(Patterns.Read(config.Child("pattern")), Splitting.ParseBehavior(config, "behavior"), config.Bool("invert", false)),
            "Metaspace" => MetaspacePreTokenizer.FromConfig(config),
            "Digits" => new CharSplitPreTokenizer(IsNumeric, config.Bool("individual_digits", false) ? SplitBehavior.Isolated : SplitBehavior.Contiguous),
            "Punctuation" => new CharSplitPreTokenizer(IsPunctuation, Splitting.ParseBehavior(config, "behavior")),
            "Whitespace" => new SplitPreTokenizer(WordsOrSymbols(), SplitBehavior.Removed, invert: true),
            "WhitespaceSplit" => new CharSplitPreTokenizer(Rune.IsWhiteSpace, SplitBehavior.Removed),
            _ => throw config.UnsupportedType(),
        };
    }

    private static bool IsNumeric(int codePoint) =>
        Rune.GetUnicodeCategory(new Rune(codePoint)) is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    private static bool IsPunctuation(int codePoint) =>
        (codePoint is > ' ' and < 127 && !char.IsAsciiLetterOrDigit((char)codePoint))
        || Rune.GetUnicodeCategory(new Rune(codePoint)) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    /// <summary>The <c>Whitespace</c> pre-tokenizer's <c>\w+|[^\w\s]+</c> with Oniguruma's Unicode <c>\w</c>.</summary>
    private static Regex WordsOrSymbols() =>
        new(@"[\p{L}\p{M}\p{Nd}\p{Pc}\u200C\u200D]+|[^\p{L}\p{M}\p{Nd}\p{Pc}\u200C\u200D\s]+", RegexOptions.Compiled | RegexOptions.CultureInvariant);
}

internal sealed class SequencePreTokenizer(IReadOnlyList<PreTokenizer> steps) : PreTokenizer
{
    public override void Split(Piece piece, List<Piece> output)
    {
        List<Piece> current = [piece];
        foreach (var step in steps)
        {
            var next = new List<Piece>(current.Count * 2);
            foreach (var p in current)
            {
                step.Split(p, next);
            }

            current = next;
        }

        output.AddRange(current);
    }
}

/// <summary><c>Split</c>: a string or regex pattern, a delimiter behaviour, and <c>invert</c>.</summary>
internal sealed class SplitPreTokenizer(Regex pattern, SplitBehavior behavior, bool invert) : PreTokenizer
{
    public override void Split(Piece piece, List<Piece> output) =>
        Splitting.Apply(piece, Splitting.RegexMatches(pattern, piece.Text, invert), behavior, output);
}

/// <summary>Splits on single characters: <c>Digits</c>, <c>Punctuation</c>, <c>WhitespaceSplit</c>.</summary>
internal sealed class CharSplitPreTokenizer(Func<int, bool> isDelimiter, SplitBehavior behavior) : PreTokenizer
{
    public CharSplitPreTokenizer(Func<Rune, bool> isDelimiter, SplitBehavior behavior)
        : this(codePoint => isDelimiter(new Rune(codePoint)), behavior)
    {
    }

    public override void Split(Piece piece, List<Piece> output) =>
        Splitting.Apply(piece, Splitting.CharMatches(piece.Text, isDelimiter), behavior, output);
}

/// <summary>
/// <c>ByteLevel</c>: optionally a leading space, optionally GPT-2's split pattern, then every UTF-8 byte as its
/// byte-level character.
/// </summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : PreTokenizer
{
    private static readonly Lazy<Regex> s_gpt2 = new(() => new Regex(
        RegexTranslator.Translate(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"),
        RegexOptions.Compiled | RegexOptions.CultureInvariant));

    public override void Split(Piece piece, List<Piece> output)
    {
        var text = addPrefixSpace && !piece.Text.StartsWith(' ') ? " " + piece.Text : piece.Text;
        if (!useRegex)
        {
            output.Add(piece with { Text = ByteLevelAlphabet.Encode(text) });
            return;
        }

        var split = new List<Piece>();
        Splitting.Apply(piece with { Text = text }, Splitting.RegexMatches(s_gpt2.Value, text, invert: false), SplitBehavior.Isolated, split);
        foreach (var p in split)
        {
            output.Add(p with { Text = ByteLevelAlphabet.Encode(p.Text) });
        }
    }
}

/// <summary>
/// <c>Metaspace</c>: spaces become the replacement character (▁), which is put first as <c>prepend_scheme</c>
/// says (<c>first</c>: only on the piece that begins the input), and each ▁ starts a new piece when <c>split</c>.
/// </summary>
internal sealed class MetaspacePreTokenizer(char replacement, PrependScheme scheme, bool split) : PreTokenizer
{
    public static MetaspacePreTokenizer FromConfig(JsonConfig config) =>
        new(ReadReplacement(config), ReadScheme(config), config.Bool("split", true));

    public static char ReadReplacement(JsonConfig config)
    {
        var replacement = config.OptionalString("replacement") ?? "▁";
        return replacement.Length == 1 ? replacement[0] : throw config.Child("replacement").Unsupported($"'{replacement}' (not one UTF-16 character)");
    }

    public static PrependScheme ReadScheme(JsonConfig config)
    {
        if (config.OptionalString("prepend_scheme") is { } scheme)
        {
            return scheme switch
            {
                "first" => PrependScheme.First,
                "always" => PrependScheme.Always,
                "never" => PrependScheme.Never,
                _ => throw config.Child("prepend_scheme").Unsupported($"'{scheme}'"),
            };
        }

        // Files older than prepend_scheme say add_prefix_space instead.
        return config.Bool("add_prefix_space", true) ? PrependScheme.Always : PrependScheme.Never;
    }

    public override void Split(Piece piece, List<Piece> output)
    {
        var text = piece.Text.Replace(' ', replacement);
        var prepend = scheme == PrependScheme.Always || (scheme == PrependScheme.First && piece.AtStart);
        if (prepend && !text.StartsWith(replacement))
        {
            text = replacement + text;
        }

        var rewritten = piece with { Text = text };
        if (!split)
        {
            output.Add(rewritten);
            return;
        }

        Splitting.Apply(rewritten, Splitting.CharMatches(text, c => c == replacement), SplitBehavior.MergedWithNext, output);
    }
}

/// <summary>Where <c>Metaspace</c> puts a replacement character before the text.</summary>
internal enum PrependScheme
{
    First,
    Always,
    Never,
}
