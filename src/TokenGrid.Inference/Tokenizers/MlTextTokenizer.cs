using System.Text;
using Microsoft.ML.Tokenizers;

namespace TokenGrid.Inference.Tokenizers;

/// <summary>
/// A Microsoft.ML.Tokenizers tokenizer (SentencePiece, tiktoken, vocab.json + merges.txt) behind
/// <see cref="ITextTokenizer"/>. Special tokens are added only by SentencePiece (its beginning-of-sequence
/// token); skipping special tokens on decode drops the ids of <paramref name="specialTokens"/>.
/// </summary>
internal sealed class MlTextTokenizer(Tokenizer inner, IReadOnlyDictionary<string, int> specialTokens, string? tiktokenEncoding = null) : ITextTokenizer
{
    private readonly HashSet<int> _specialIds = [.. specialTokens.Values];

    // Tokens by id, built on first use (only log probabilities need them): SentencePiece's pieces, byte-level BPE's
    // byte-level strings, tiktoken's bytes (its Vocabulary holds lossy UTF-8 text, so they are read from its data file).
    private readonly Lazy<Dictionary<int, string>> _reverse = new(() => inner switch
    {
        SentencePieceTokenizer sp => sp.Vocabulary.GroupBy(kv => kv.Value).ToDictionary(g => g.Key, g => g.First().Key),
        BpeTokenizer bpe => bpe.Vocabulary.GroupBy(kv => kv.Value).ToDictionary(g => g.Key, g => g.First().Key),
        _ => [],
    });

    private readonly Lazy<Dictionary<int, byte[]>> _tiktokenBytes = new(() => tiktokenEncoding is null ? [] : TiktokenBytes(tiktokenEncoding));

    public int[] Encode(string text, bool addSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = inner is SentencePieceTokenizer sentencePiece && !addSpecialTokens
            ? sentencePiece.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false)
            : inner.EncodeToIds(text);
        return [.. ids];
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens) =>
        inner.Decode(skipSpecialTokens ? ids.Where(id => !_specialIds.Contains(id)) : ids);

    /// <summary>
    /// The bytes of one token: tiktoken's own byte table; byte-level BPE's alphabet mapped back to bytes; SentencePiece's
    /// <c>&lt;0xXX&gt;</c> byte tokens as their byte and ▁ as a space; special tokens as their UTF-8.
    /// </summary>
    /// <summary>
    /// The bytes of every token of a tiktoken encoding, from the data package that <see cref="TiktokenTokenizer.CreateForEncoding"/>
    /// loaded (<c>{encoding}.tiktoken.deflate</c>: one base64 token per line, in rank order). Microsoft.ML.Tokenizers keeps its
    /// own byte table internal, so there is no public way to it.
    /// </summary>
    internal static Dictionary<int, byte[]> TiktokenBytes(string encoding)
    {
        var name = encoding + ".tiktoken.deflate";
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies().Where(a => a.GetName().Name?.StartsWith("Microsoft.ML.Tokenizers.Data.", StringComparison.Ordinal) == true))
        {
            if (assembly.GetManifestResourceNames().FirstOrDefault(r => r.EndsWith(name, StringComparison.OrdinalIgnoreCase)) is not { } resource)
            {
                continue;
            }

            using var compressed = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(new System.IO.Compression.DeflateStream(compressed, System.IO.Compression.CompressionMode.Decompress));
            var table = new Dictionary<int, byte[]>();
            var next = 0;
            while (reader.ReadLine() is { } line)
            {
                // The data packages write "Capacity: N" first, then one base64 token per line with its rank implied by
                // the line; tiktoken's own files give "base64 rank". Both are read.
                if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
                {
                    continue;
                }

                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var rank = space > 0 && int.TryParse(line.AsSpan(space + 1), System.Globalization.CultureInfo.InvariantCulture, out var given) ? given : next;
                table[rank] = Convert.FromBase64String(space > 0 ? line[..space] : line);
                next = rank + 1;
            }

            return table;
        }

        return [];
    }

    public byte[] TokenBytes(int id)
    {
        if (specialTokens.FirstOrDefault(kv => kv.Value == id) is { Key: { } special })
        {
            return Encoding.UTF8.GetBytes(special);
        }

        switch (inner)
        {
            case TiktokenTokenizer when _tiktokenBytes.Value.TryGetValue(id, out var bytes):
                return bytes;
            case BpeTokenizer when _reverse.Value.TryGetValue(id, out var token):
                var output = new List<byte>(token.Length);
                HuggingFace.ByteLevelAlphabet.AppendBytes(token, output);
                return [.. output];
            case SentencePieceTokenizer sentencePiece when _reverse.Value.TryGetValue(id, out var piece):
                return sentencePiece.ByteFallback && HuggingFace.ByteFallbackDecoder.TryParseByte(piece, out var single)
                    ? [single]
                    : Encoding.UTF8.GetBytes(piece.Replace('\u2581', ' '));
            default:
                return Encoding.UTF8.GetBytes(inner.Decode([id]));
        }
    }

}
