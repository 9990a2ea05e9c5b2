using TokenGrid.Inference.Models;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Tests.Tokenizers;

public sealed class TokenizerLoaderTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Rejects_a_tokenizer_json_whose_model_is_not_bpe()
    {
        TokenizerFixtures.WriteTokenizerJson(_directory, mergesAsPairs: true, modelType: "WordPiece");

        var error = Assert.Throws<InvalidModelException>(() => TokenizerFixtures.Load(_directory));

        Assert.Contains("WordPiece", error.Message, StringComparison.Ordinal);
        Assert.Contains("only BPE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_the_expected_files_when_the_directory_has_no_tokenizer()
    {
        System.IO.File.WriteAllText(_directory.File("config.json"), "{}");

        var error = Assert.Throws<InvalidModelException>(() => TokenizerFixtures.Load(_directory));

        Assert.Contains(_directory.Path, error.Message, StringComparison.Ordinal);
        foreach (var file in new[] { "tokenizer.json", "vocab.json", "merges.txt", "tokenizer.model", "tiktoken.json" })
        {
            Assert.Contains(file, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Wraps_an_unreadable_tokenizer_json_in_invalid_model_exception()
    {
        System.IO.File.WriteAllText(_directory.File(TokenizerLoader.TokenizerJsonFile), "{ not json");

        var error = Assert.Throws<InvalidModelException>(() => TokenizerFixtures.Load(_directory));

        Assert.Contains("cannot be read", error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);
    }

    [Fact]
    public void Rejects_a_tiktoken_json_without_an_encoding()
    {
        System.IO.File.WriteAllText(_directory.File(TokenizerLoader.TiktokenFile), """{"name":"cl100k_base"}""");

        var error = Assert.Throws<InvalidModelException>(() => TokenizerFixtures.Load(_directory));

        Assert.Contains("encoding", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_an_unknown_tiktoken_encoding()
    {
        System.IO.File.WriteAllText(_directory.File(TokenizerLoader.TiktokenFile), """{"encoding":"no_such_base"}""");

        var error = Assert.Throws<InvalidModelException>(() => TokenizerFixtures.Load(_directory));

        Assert.Contains("no_such_base", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"added_tokens":[]}""")]
    [InlineData("""{"model":{"type":"BPE","merges":[]}}""")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":"zero"}}}""")]
    [InlineData("[]")]
    public void Wraps_a_malformed_tokenizer_json_in_invalid_model_exception(string json)
    {
        System.IO.File.WriteAllText(_directory.File(TokenizerLoader.TokenizerJsonFile), json);

        var error = Assert.Throws<InvalidModelException>(() => TokenizerFixtures.Load(_directory));

        Assert.Contains($"'{_directory.Path}' cannot be read", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wraps_a_corrupt_tokenizer_model_in_invalid_model_exception()
    {
        System.IO.File.WriteAllBytes(_directory.File(TokenizerLoader.SentencePieceFile), [0x0A, 0xFF, 0xFF, 0x01, 0x02]);

        Assert.Throws<InvalidModelException>(() => TokenizerFixtures.Load(_directory, SentencePieceFixture.BosId));
    }

    [Fact]
    public void Prefers_tokenizer_json_over_tiktoken_json()
    {
        TokenizerFixtures.WriteTiktoken(_directory);
        TokenizerFixtures.WriteTokenizerJson(_directory, mergesAsPairs: true);

        Assert.Equal(TokenizerKind.HuggingFaceBpe, TokenizerFixtures.Load(_directory).Kind);
    }

    [Fact]
    public void Prefers_tokenizer_json_over_vocab_and_merges()
    {
        TokenizerFixtures.WriteVocabMerges(_directory);
        TokenizerFixtures.WriteTokenizerJson(_directory, mergesAsPairs: false);

        Assert.Equal(TokenizerKind.HuggingFaceBpe, TokenizerFixtures.Load(_directory).Kind);
    }

    [Fact]
    public void Prefers_vocab_and_merges_over_sentencepiece_and_tiktoken()
    {
        TokenizerFixtures.WriteTiktoken(_directory);
        SentencePieceFixture.Write(_directory);
        TokenizerFixtures.WriteVocabMerges(_directory);

        Assert.Equal(TokenizerKind.ByteLevelBpe, TokenizerFixtures.Load(_directory).Kind);
    }

    [Fact]
    public void Prefers_sentencepiece_over_tiktoken()
    {
        TokenizerFixtures.WriteTiktoken(_directory);
        SentencePieceFixture.Write(_directory);

        Assert.Equal(TokenizerKind.SentencePiece, TokenizerFixtures.Load(_directory, SentencePieceFixture.BosId).Kind);
    }
}
