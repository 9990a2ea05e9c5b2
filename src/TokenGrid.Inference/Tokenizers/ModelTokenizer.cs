using Microsoft.ML.Tokenizers;

namespace TokenGrid.Inference.Tokenizers;

/// <summary>Which tokenizer file a model directory supplied.</summary>
public enum TokenizerKind
{
    /// <summary>Hugging Face <c>tokenizer.json</c> of BPE type.</summary>
    HuggingFaceBpe,

    /// <summary>GPT-2 style byte-level BPE from <c>vocab.json</c> and <c>merges.txt</c>.</summary>
    ByteLevelBpe,

    /// <summary>SentencePiece <c>tokenizer.model</c> (Llama family).</summary>
    SentencePiece,

    /// <summary>A built-in tiktoken encoding named by <c>tiktoken.json</c>, such as <c>cl100k_base</c>.</summary>
    Tiktoken,
}

/// <summary>
/// A model's tokenizer: text to ids the way the model was trained, and ids back to text. Wraps a
/// Microsoft.ML.Tokenizers tokenizer and adds what the model directory says about the beginning-of-sequence
/// token, special tokens and the chat template. Thread-safe.
/// </summary>
public sealed class ModelTokenizer
{
    private readonly Tokenizer _inner;
    private readonly int? _prependBos;

    internal ModelTokenizer(Tokenizer inner, TokenizerKind kind, IReadOnlyDictionary<string, int> specialTokens, int? prependBos)
    {
        _inner = inner;
        _prependBos = prependBos;
        Kind = kind;
        SpecialTokens = specialTokens;
        ChatTemplate = ChatTemplate.For(specialTokens);
    }

    /// <summary>Which tokenizer file this came from.</summary>
    public TokenizerKind Kind { get; }

    /// <summary>Special tokens by text (for example <c>&lt;|endoftext|&gt;</c>).</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>How chat messages become a prompt for this model.</summary>
    public ChatTemplate ChatTemplate { get; }

    /// <summary>Encodes <paramref name="text"/>, with the beginning-of-sequence token where the model expects one.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = _inner.EncodeToIds(text);
        if (_prependBos is not { } bos || (ids.Count > 0 && ids[0] == bos))
        {
            return [.. ids];
        }

        var withBos = new int[ids.Count + 1];
        withBos[0] = bos;
        for (var i = 0; i < ids.Count; i++)
        {
            withBos[i + 1] = ids[i];
        }

        return withBos;
    }

    /// <summary>How many tokens <see cref="Encode"/> gives for <paramref name="text"/>.</summary>
    public int CountTokens(string text) => Encode(text).Length;

    /// <summary>Decodes ids to text. Incomplete UTF-8 at the end decodes to U+FFFD; see <see cref="StreamingDetokenizer"/>.</summary>
    public string Decode(IEnumerable<int> ids) => _inner.Decode(ids);
}
