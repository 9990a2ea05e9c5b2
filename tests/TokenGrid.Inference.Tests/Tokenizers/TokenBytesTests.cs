using System.Text;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Tests.Tokenizers;

/// <summary>
/// <see cref="ModelTokenizer.TokenBytes"/> on real tokenizers: the bytes of a text's tokens, joined, are the text's UTF-8
/// (byte-level BPE, tiktoken), or the text with the leading space Metaspace adds (byte fallback); single tokens give the
/// bytes OpenAI's <c>logprobs[].bytes</c> would, parts of a character included.
/// </summary>
public sealed class TokenBytesTests
{
    private const string Sample = "Hello, world! Ünïcödé — 日本語のテキスト, emoji 🦀🚀 and code: if (x) { return y; }\n\ttabs";

    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("gpt2")]
    public void Byte_level_tokens_join_to_the_utf8_of_the_text(string family)
    {
        var tokenizer = ReferenceFixtures.Tokenizer(family);
        foreach (var text in ReferenceFixtures.Corpus.Take(200).Append(Sample))
        {
            var ids = tokenizer.Encode(text, addSpecialTokens: false);
            Assert.Equal(Encoding.UTF8.GetBytes(tokenizer.Decode(ids)), ids.SelectMany(tokenizer.TokenBytes).ToArray());
        }
    }

    [Fact]
    public void Tiktoken_tokens_join_to_the_utf8_of_the_text_and_split_characters_show_their_bytes()
    {
        var tokenizer = TokenizerFixtures.LoadCl100k();
        var ids = tokenizer.Encode(Sample, addSpecialTokens: false);
        Assert.Equal(Encoding.UTF8.GetBytes(Sample), ids.SelectMany(tokenizer.TokenBytes).ToArray());
        Assert.Equal("Hello"u8.ToArray(), tokenizer.TokenBytes(tokenizer.Encode("Hello", addSpecialTokens: false).Single()));

        // The crab emoji is four bytes over more than one token: each token holds part of it.
        var crab = tokenizer.Encode("🦀", addSpecialTokens: false);
        Assert.True(crab.Length > 1);
        Assert.Equal(Encoding.UTF8.GetBytes("🦀"), crab.SelectMany(tokenizer.TokenBytes).ToArray());
        Assert.Equal("<|endoftext|>"u8.ToArray(), tokenizer.TokenBytes(tokenizer.SpecialTokens["<|endoftext|>"]));
    }

    [Theory]
    [InlineData("llama2")]
    [InlineData("gemma3")]
    [InlineData("gemma2")]
    [InlineData("internlm2")]
    [InlineData("chatglm3")]
    [InlineData("yi")]
    [InlineData("baichuan2")]
    public void Byte_fallback_tokens_give_their_byte_and_keep_word_spaces(string family)
    {
        var tokenizer = ReferenceFixtures.Tokenizer(family);
        foreach (var text in ReferenceFixtures.Corpus.Take(200).Append(Sample))
        {
            var ids = tokenizer.Encode(text, addSpecialTokens: false);
            var joined = Encoding.UTF8.GetString(ids.SelectMany(tokenizer.TokenBytes).ToArray());

            // Metaspace prefixes the first word with a space that decoding strips; every other space is a token's own.
            var decoded = tokenizer.Decode(ids);
            Assert.True(joined == decoded || joined == " " + decoded, $"{ReferenceFixtures.Show(joined)} vs {ReferenceFixtures.Show(decoded)}");
        }

        var emoji = tokenizer.Encode("🦀", addSpecialTokens: false);
        Assert.Equal(Encoding.UTF8.GetBytes("🦀"), emoji.SelectMany(tokenizer.TokenBytes).SkipWhile(b => b == (byte)' ').ToArray());
    }

    [Fact]
    public void An_id_outside_the_vocabulary_has_no_bytes() =>
        Assert.Empty(ReferenceFixtures.Tokenizer("llama3").TokenBytes(int.MaxValue));
}
