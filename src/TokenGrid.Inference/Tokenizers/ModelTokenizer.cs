namespace TokenGrid.Inference.Tokenizers;

/// <summary>Which tokenizer file a model directory supplied.</summary>
public enum TokenizerKind
{
    /// <summary>Hugging Face <c>tokenizer.json</c> of BPE type (byte-level or Metaspace with byte fallback).</summary>
    HuggingFaceBpe,

    /// <summary>GPT-2 style byte-level BPE from <c>vocab.json</c> and <c>merges.txt</c>.</summary>
    ByteLevelBpe,

    /// <summary>SentencePiece <c>tokenizer.model</c> (Llama family).</summary>
    SentencePiece,

    /// <summary>A built-in tiktoken encoding named by <c>tiktoken.json</c>, such as <c>cl100k_base</c>.</summary>
    Tiktoken,
}

/// <summary>
/// A model's tokenizer: text to ids the way the model was trained, and ids back to text. A <c>tokenizer.json</c>
/// runs through TokenGrid's own implementation of Hugging Face's pipeline (ids and decodes equal to the Rust
/// library's; see docs/tokenizers.md); the other files through Microsoft.ML.Tokenizers. Also carries the special
/// tokens and the chat template. Thread-safe.
/// </summary>
public sealed class ModelTokenizer
{
    private readonly ITextTokenizer _inner;
    private readonly HashSet<int> _specialIds;

    internal ModelTokenizer(ITextTokenizer inner, TokenizerKind kind, string family, IReadOnlyDictionary<string, int> specialTokens)
    {
        _inner = inner;
        Kind = kind;
        Family = family;
        SpecialTokens = specialTokens;
        _specialIds = [.. specialTokens.Values];
        ChatTemplate = ChatTemplate.For(specialTokens);
    }

    /// <summary>Which tokenizer file this came from.</summary>
    public TokenizerKind Kind { get; }

    /// <summary>
    /// What kind of tokenizer this is, for people: <c>tokenizer.json BPE (byte-level)</c>,
    /// <c>tokenizer.json BPE (Metaspace, byte fallback)</c>, <c>SentencePiece tokenizer.model</c>, …
    /// </summary>
    public string Family { get; }

    /// <summary>Special tokens by text (for example <c>&lt;|endoftext|&gt;</c>).</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Whether <paramref name="id"/> is one of <see cref="SpecialTokens"/>: what <c>skip_special_tokens</c> leaves out.</summary>
    public bool IsSpecial(int id) => _specialIds.Contains(id);

    /// <summary>How chat messages become a prompt for this model.</summary>
    public ChatTemplate ChatTemplate { get; }

    /// <summary>
    /// Encodes <paramref name="text"/>; with <paramref name="addSpecialTokens"/>, adds what the tokenizer's
    /// post-processor adds (for example Llama's beginning-of-sequence token), as Hugging Face's
    /// <c>encode(text, add_special_tokens)</c> does. Special-token text in the input is always recognised.
    /// </summary>
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _inner.Encode(text, addSpecialTokens);
    }

    /// <summary>How many tokens <see cref="Encode"/> gives for <paramref name="text"/>, special tokens included.</summary>
    public int CountTokens(string text) => Encode(text).Length;

    /// <summary>
    /// Decodes ids to text as Hugging Face's <c>decode(ids, skip_special_tokens)</c> does. Incomplete UTF-8 at
    /// the end decodes to U+FFFD; see <see cref="StreamingDetokenizer"/>.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return _inner.Decode(ids, skipSpecialTokens);
    }

    /// <summary>
    /// The raw bytes of one token, as OpenAI's <c>logprobs[].bytes</c> shows them: for byte-level BPE (tokenizer.json,
    /// vocab.json + merges.txt, tiktoken) the bytes the token stands for, which may be part of a UTF-8 character; for
    /// byte fallback the byte of a <c>&lt;0xXX&gt;</c> token; otherwise the UTF-8 of the token's text with ▁ as a space.
    /// Special and added tokens give the UTF-8 of their text. An id outside the vocabulary gives none.
    /// </summary>
    public byte[] TokenBytes(int id) => _inner.TokenBytes(id);
}
