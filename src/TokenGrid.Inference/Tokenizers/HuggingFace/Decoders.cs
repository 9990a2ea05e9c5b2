using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>A Hugging Face decoder: rewrites the list of token strings on the way back to text (<c>decode_chain</c>).</summary>
internal abstract class Decoder
{
    public abstract List<string> DecodeChain(List<string> tokens);

    /// <summary>The steps this decoder runs, in order: itself, or a Sequence's steps flattened.</summary>
    public virtual IEnumerable<Decoder> Steps => [this];

    /// <summary>Whether this step rewrites each token on its own (so one token can be shown alone): Replace and Metaspace.</summary>
    public virtual bool IsPerToken => false;

    /// <summary>Reads <c>decoder</c> (or one step of a Sequence); refuses any type it does not implement.</summary>
    public static Decoder? Read(JsonConfig config)
    {
        if (config.IsNull)
        {
            return null;
        }

        return config.Type switch
        {
            "Sequence" => new SequenceDecoder([.. config.Items("decoders").Select(step => Read(step) ?? throw step.Invalid("is null"))]),
            "ByteLevel" => new ByteLevelDecoder(),
            "ByteFallback" => new ByteFallbackDecoder(),
            "Fuse" => new FuseDecoder(),
            "Strip" => new StripDecoder(StripContent(config), config.Int("start", 0), config.Int("stop", 0)),
            "Replace" => new ReplaceDecoder(Patterns.Read(config.Child("pattern")), config.String("content")),
            "Metaspace" => new MetaspaceDecoder(MetaspacePreTokenizer.ReadReplacement(config), MetaspacePreTokenizer.ReadScheme(config)),
            _ => throw config.UnsupportedType(),
        };
    }

    private static string StripContent(JsonConfig config)
    {
        var content = config.String("content");
        return content.Length == 1 || (content.Length == 2 && char.IsSurrogatePair(content, 0)) ? content : throw config.Child("content").Invalid("must be one character");
    }
}

internal sealed class SequenceDecoder(IReadOnlyList<Decoder> steps) : Decoder
{
    public override IEnumerable<Decoder> Steps => steps.SelectMany(step => step.Steps);

    public override List<string> DecodeChain(List<string> tokens)
    {
        foreach (var step in steps)
        {
            tokens = step.DecodeChain(tokens);
        }

        return tokens;
    }
}

/// <summary><c>ByteLevel</c>: every token back to its bytes, all joined, then UTF-8 with U+FFFD for what is invalid.</summary>
internal sealed class ByteLevelDecoder : Decoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            ByteLevelAlphabet.AppendBytes(token, bytes);
        }

        return [Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes))];
    }
}

/// <summary>
/// <c>ByteFallback</c>: runs of <c>&lt;0xXX&gt;</c> tokens become their UTF-8 text, or one U+FFFD per byte when
/// the run is not valid UTF-8 (so an incomplete character at the end shows as U+FFFD until its last byte comes).
/// </summary>
internal sealed class ByteFallbackDecoder : Decoder
{
    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public override List<string> DecodeChain(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            if (TryParseByte(token, out var b))
            {
                bytes.Add(b);
                continue;
            }

            Flush(bytes, output);
            output.Add(token);
        }

        Flush(bytes, output);
        return output;
    }

    /// <summary>The byte of a <c>&lt;0xXX&gt;</c> token.</summary>
    public static bool TryParseByte(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private static void Flush(List<byte> bytes, List<string> output)
    {
        if (bytes.Count == 0)
        {
            return;
        }

        try
        {
            output.Add(s_strict.GetString([.. bytes]));
        }
        catch (DecoderFallbackException)
        {
            output.AddRange(Enumerable.Repeat("\uFFFD", bytes.Count));
        }

        bytes.Clear();
    }
}

/// <summary><c>Fuse</c>: all tokens into one.</summary>
internal sealed class FuseDecoder : Decoder
{
    public override List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary><c>Strip</c>: up to <c>start</c> leading and <c>stop</c> trailing copies of a character off each token.</summary>
internal sealed class StripDecoder(string content, int start, int stop) : Decoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        foreach (var token in tokens)
        {
            var from = 0;
            for (var i = 0; i < start && token.AsSpan(from).StartsWith(content, StringComparison.Ordinal); i++)
            {
                from += content.Length;
            }

            var to = token.Length;
            for (var i = 0; i < stop && to - content.Length >= from && token.AsSpan(from, to - from).EndsWith(content, StringComparison.Ordinal); i++)
            {
                to -= content.Length;
            }

            output.Add(token[from..to]);
        }

        return output;
    }
}

/// <summary><c>Replace</c>: every match in each token becomes the content.</summary>
internal sealed class ReplaceDecoder(Regex pattern, string content) : Decoder
{
    private readonly string _replacement = content.Replace("$", "$$", StringComparison.Ordinal);

    public override bool IsPerToken => true;

    public override List<string> DecodeChain(List<string> tokens) => [.. tokens.Select(t => pattern.Replace(t, _replacement))];
}

/// <summary>
/// <c>Metaspace</c>: ▁ back to spaces, except that in the first token every ▁ is dropped unless the scheme is
/// <c>never</c> (the Rust library's <c>decode_chain</c>, measured: "▁▁lead" decodes to "lead").
/// </summary>
internal sealed class MetaspaceDecoder(char replacement, PrependScheme scheme) : Decoder
{
    public override bool IsPerToken => true;

    public override List<string> DecodeChain(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            output.Add(i == 0 && scheme != PrependScheme.Never
                ? tokens[i].Replace(replacement.ToString(), "", StringComparison.Ordinal)
                : tokens[i].Replace(replacement, ' '));
        }

        return output;
    }
}
