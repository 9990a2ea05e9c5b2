using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Tests.Tokenizers;

public sealed class ByteLevelBpeTokenizerTests
{
    private readonly ModelTokenizer _tokenizer = TokenizerFixtures.LoadVocabMerges();

    [Fact]
    public void Loads_vocab_and_merges_as_byte_level_bpe()
    {
        Assert.Equal(TokenizerKind.ByteLevelBpe, _tokenizer.Kind);
    }

    [Fact]
    public void Fixture_maps_every_byte_to_a_distinct_character()
    {
        var map = TokenizerFixtures.BytesToUnicode();

        Assert.Equal(256, map.Select(m => m.Byte).Distinct().Count());
        Assert.Equal(256, map.Select(m => m.Char).Distinct().Count());
        Assert.Contains(((byte)' ', 'Ġ'), map);
        Assert.Contains(((byte)'\n', 'Ċ'), map);
    }

    [Fact]
    public void Applies_merges_in_rank_order()
    {
        var vocab = TokenizerFixtures.ByteLevelVocab;

        Assert.Equal([vocab["Ġthe"]], _tokenizer.Encode(" the"));
        Assert.Equal([vocab["he"], vocab["llo"]], _tokenizer.Encode("hello"));
    }

    [Fact]
    public void Encodes_bytes_without_a_merge_as_single_byte_tokens()
    {
        var vocab = TokenizerFixtures.ByteLevelVocab;

        // é is C3 A9 in UTF-8: two byte tokens, Ã and ©.
        Assert.Equal([vocab["Ã"], vocab["©"]], _tokenizer.Encode("é"));
    }

    [Theory]
    [InlineData("hello the world")]
    [InlineData("the  two   spaces    here")]
    [InlineData("line one\nline two\n\n  indented\r\n")]
    [InlineData("café au lait, 世界, the end")]
    [InlineData(" leading and trailing ")]
    public void Round_trips_text_with_spaces_and_non_ascii(string text)
    {
        Assert.Equal(text, _tokenizer.Decode(_tokenizer.Encode(text)));
    }

    [Fact]
    public void Uses_the_plain_chat_template_without_chatml_tokens()
    {
        Assert.Equal("plain", _tokenizer.ChatTemplate.Name);
        Assert.Empty(_tokenizer.SpecialTokens);
    }
}
