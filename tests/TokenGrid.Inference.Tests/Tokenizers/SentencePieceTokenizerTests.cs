using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Tests.Tokenizers;

public sealed class SentencePieceTokenizerTests
{
    private readonly ModelTokenizer _tokenizer = SentencePieceFixture.Load();

    [Fact]
    public void Loads_tokenizer_model_as_sentencepiece()
    {
        Assert.Equal(TokenizerKind.SentencePiece, _tokenizer.Kind);
    }

    [Fact]
    public void Encodes_with_bos_first_and_merged_pieces()
    {
        var ids = _tokenizer.Encode("hello world");

        Assert.Equal(SentencePieceFixture.BosId, ids[0]);
        Assert.Single(ids, id => id == SentencePieceFixture.BosId);
        Assert.Contains(SentencePieceFixture.IdOf("▁hello"), ids);
        Assert.DoesNotContain(SentencePieceFixture.UnknownId, ids);
    }

    [Fact]
    public void Encodes_hello_world_to_the_expected_pieces()
    {
        int[] expected = [SentencePieceFixture.BosId, .. new[] { "▁hello", "▁", "w", "o", "r", "l", "d" }.Select(SentencePieceFixture.IdOf)];

        Assert.Equal(expected, _tokenizer.Encode("hello world"));
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("hello  hello")]
    [InlineData("the cat")]
    public void Round_trips_text_after_the_bos(string text)
    {
        var ids = _tokenizer.Encode(text);

        Assert.Equal(text, _tokenizer.Decode(ids.Skip(1)));
    }

    [Theory]
    [InlineData("é", new[] { 0xC3, 0xA9 })]
    [InlineData("世", new[] { 0xE4, 0xB8, 0x96 })]
    public void Falls_back_to_byte_pieces_outside_the_vocabulary(string text, int[] utf8)
    {
        var ids = _tokenizer.Encode("café " + text);

        foreach (var b in utf8)
        {
            Assert.Contains(SentencePieceFixture.IdOf($"<0x{b:X2}>"), ids);
        }

        Assert.DoesNotContain(SentencePieceFixture.UnknownId, ids);
        Assert.Equal("café " + text, _tokenizer.Decode(ids.Skip(1)));
    }

    [Fact]
    public void Uses_the_plain_chat_template()
    {
        Assert.Equal("plain", _tokenizer.ChatTemplate.Name);
    }
}
