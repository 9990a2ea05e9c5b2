using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Tests.Tokenizers;

public sealed class HuggingFaceTokenizerJsonTests
{
    private static readonly int s_bos = TokenizerFixtures.AddedTokenId("<s>");

    public static TheoryData<bool> MergeFormats => [true, false];

    [Theory]
    [MemberData(nameof(MergeFormats))]
    public void Loads_a_byte_level_bpe_tokenizer_json(bool mergesAsPairs)
    {
        var tokenizer = Load(mergesAsPairs);

        Assert.Equal(TokenizerKind.HuggingFaceBpe, tokenizer.Kind);
        Assert.Equal(TokenizerFixtures.AddedTokenId("<|im_start|>"), tokenizer.SpecialTokens["<|im_start|>"]);
    }

    [Theory]
    [MemberData(nameof(MergeFormats))]
    public void Applies_merges_in_either_format(bool mergesAsPairs)
    {
        var vocab = TokenizerFixtures.ByteLevelVocab;
        var tokenizer = Load(mergesAsPairs);

        Assert.Equal([s_bos, vocab["Ġthe"]], tokenizer.Encode(" the"));
        Assert.Equal([s_bos, vocab["he"], vocab["llo"]], tokenizer.Encode("hello"));
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("")]
    public void Puts_the_template_bos_first_exactly_once(string text)
    {
        var ids = Load(mergesAsPairs: true).Encode(text);

        Assert.Equal(s_bos, ids[0]);
        Assert.Single(ids, id => id == s_bos);
    }

    [Fact]
    public void Adds_the_template_bos_even_before_a_bos_in_the_text_as_hugging_face_does()
    {
        var ids = Load(mergesAsPairs: true).Encode("<s>hello");

        Assert.Equal([s_bos, s_bos], ids[..2]);
    }

    [Fact]
    public void Leaves_the_template_bos_out_without_special_tokens()
    {
        var tokenizer = Load(mergesAsPairs: true);

        Assert.DoesNotContain(s_bos, tokenizer.Encode("hello", addSpecialTokens: false));
        Assert.Equal("hello", tokenizer.Decode(tokenizer.Encode("hello")[1..]));
    }

    [Fact]
    public void Encodes_an_added_special_token_as_its_single_id()
    {
        var vocab = TokenizerFixtures.ByteLevelVocab;
        var imStart = TokenizerFixtures.AddedTokenId("<|im_start|>");

        var ids = Load(mergesAsPairs: true).Encode("<|im_start|>user");

        Assert.Equal([s_bos, imStart, vocab["u"], vocab["s"], vocab["e"], vocab["r"]], ids);
    }

    [Theory]
    [InlineData("hello the world")]
    [InlineData("the  two   spaces\nand\n\nnewlines ")]
    [InlineData("café, 世界 🎉")]
    [InlineData("<|im_start|>user\nhello<|im_end|>\n")]
    public void Round_trips_text_after_the_bos(string text)
    {
        var tokenizer = Load(mergesAsPairs: false);

        var ids = tokenizer.Encode(text);

        Assert.Equal(text, tokenizer.Decode(ids.Skip(1)));
    }

    [Fact]
    public void Uses_the_chatml_template_when_im_start_and_im_end_are_added()
    {
        var tokenizer = Load(mergesAsPairs: true);

        Assert.Equal("chatml", tokenizer.ChatTemplate.Name);
        Assert.Equal(["<|im_end|>"], tokenizer.ChatTemplate.StopSequences);
    }

    [Fact]
    public void Renders_chatml_that_encodes_role_markers_as_special_ids()
    {
        var tokenizer = Load(mergesAsPairs: true);
        var prompt = tokenizer.ChatTemplate.Render([new ChatMessage("user", "hello")]);

        var ids = tokenizer.Encode(prompt);

        Assert.Equal("<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n", prompt);
        Assert.Equal(2, ids.Count(id => id == TokenizerFixtures.AddedTokenId("<|im_start|>")));
        Assert.Single(ids, id => id == TokenizerFixtures.AddedTokenId("<|im_end|>"));
    }

    private static ModelTokenizer Load(bool mergesAsPairs)
    {
        using var directory = new TempDirectory();
        TokenizerFixtures.WriteTokenizerJson(directory, mergesAsPairs);
        return TokenizerFixtures.Load(directory);
    }
}
