using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Tests.Tokenizers;

public sealed class StreamingDetokenizerTests
{
    private const string MultiByteText = "héllo 世界 🎉 ünïcödé";

    public static TheoryData<string> Texts => [MultiByteText, "the  the\nhello 👨‍👩‍👧 done", "🎉🎉🎉", "plain ascii only"];

    [Theory]
    [MemberData(nameof(Texts))]
    public void Streams_cl100k_tokens_back_to_the_original_text(string text)
    {
        var tokenizer = TokenizerFixtures.LoadCl100k();

        var pieces = Stream(tokenizer, tokenizer.Encode(text));

        AssertClean(text, pieces);
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void Streams_byte_level_bpe_tokens_back_to_the_original_text(string text)
    {
        var tokenizer = TokenizerFixtures.LoadVocabMerges();

        var pieces = Stream(tokenizer, tokenizer.Encode(text));

        AssertClean(text, pieces);
    }

    [Fact]
    public void Holds_back_an_incomplete_character_in_cl100k()
    {
        var tokenizer = TokenizerFixtures.LoadCl100k();
        var ids = tokenizer.Encode(MultiByteText);

        var pieces = Stream(tokenizer, ids);

        // Some character of the text spans two tokens, so the first of them completes nothing.
        Assert.True(ids.Length > pieces.Count(p => p.Length > 0), "expected a token that splits a character");
        Assert.Contains("", pieces.SkipLast(1));
    }

    [Fact]
    public void Holds_back_each_byte_of_a_character_until_the_last_one()
    {
        var tokenizer = TokenizerFixtures.LoadVocabMerges();
        var detokenizer = new StreamingDetokenizer(tokenizer);
        var ids = tokenizer.Encode("🎉");

        Assert.Equal(4, ids.Length);
        Assert.Equal("", detokenizer.Append(ids[0]));
        Assert.Equal("", detokenizer.Append(ids[1]));
        Assert.Equal("", detokenizer.Append(ids[2]));
        Assert.Equal("🎉", detokenizer.Append(ids[3]));
        Assert.Equal("", detokenizer.Flush());
    }

    [Fact]
    public void Streams_sentencepiece_tokens_with_their_spaces()
    {
        var tokenizer = SentencePieceFixture.Load();
        const string text = "hello world café";
        var ids = tokenizer.Encode(text);

        var pieces = Stream(tokenizer, ids);

        Assert.Equal(tokenizer.Decode(ids), string.Concat(pieces));
        Assert.Equal(text, string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD', StringComparison.Ordinal));
    }

    [Fact]
    public void Flush_returns_an_incomplete_character_as_replacement()
    {
        var tokenizer = TokenizerFixtures.LoadVocabMerges();
        var detokenizer = new StreamingDetokenizer(tokenizer);

        Assert.Equal("a", detokenizer.Append(tokenizer.Encode("a")[0]));
        Assert.Equal("", detokenizer.Append(tokenizer.Encode("é")[0]));
        Assert.Equal("\uFFFD", detokenizer.Flush());
        Assert.Equal("", detokenizer.Flush());
    }

    /// <summary>Appends the ids one at a time, then flushes; the last piece is the flush.</summary>
    private static List<string> Stream(ModelTokenizer tokenizer, IEnumerable<int> ids)
    {
        var detokenizer = new StreamingDetokenizer(tokenizer);
        var pieces = ids.Select(detokenizer.Append).ToList();
        pieces.Add(detokenizer.Flush());
        return pieces;
    }

    private static void AssertClean(string text, List<string> pieces)
    {
        Assert.Equal(text, string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD', StringComparison.Ordinal));
    }
}
