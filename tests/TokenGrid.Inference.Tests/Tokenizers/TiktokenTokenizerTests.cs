using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Tests.Tokenizers;

public sealed class TiktokenTokenizerTests
{
    private readonly ModelTokenizer _tokenizer = TokenizerFixtures.LoadCl100k();

    [Fact]
    public void Loads_the_encoding_named_by_tiktoken_json()
    {
        Assert.Equal(TokenizerKind.Tiktoken, _tokenizer.Kind);
    }

    [Fact]
    public void Encodes_hello_world_to_the_known_cl100k_ids()
    {
        Assert.Equal([15339, 1917], _tokenizer.Encode("hello world"));
    }

    [Fact]
    public void Maps_endoftext_to_its_special_id()
    {
        Assert.Equal(100257, _tokenizer.SpecialTokens["<|endoftext|>"]);
    }

    [Theory]
    [InlineData("The quick brown fox, 42 times!")]
    [InlineData("  two  spaces\nand a newline\ttab")]
    [InlineData("héllo wörld, 世界, Привет, مرحبا")]
    [InlineData("emoji 🎉👍🏽 and a family 👨‍👩‍👧")]
    public void Round_trips_mixed_text_with_non_ascii_and_emoji(string text)
    {
        var ids = _tokenizer.Encode(text);

        Assert.NotEmpty(ids);
        Assert.Equal(text, _tokenizer.Decode(ids));
    }

    [Fact]
    public void Counts_tokens_without_a_beginning_of_sequence_token()
    {
        Assert.Equal(2, _tokenizer.CountTokens("hello world"));
    }

    [Fact]
    public void Uses_the_plain_chat_template()
    {
        Assert.Equal("plain", _tokenizer.ChatTemplate.Name);
    }
}
