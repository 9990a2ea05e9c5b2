using System.Text.Json;

namespace TokenGrid.Inference.Tests.Tokenizers;

/// <summary>
/// Real tokenizer.json files against Hugging Face's own results (tokenizers 0.23.2, the Rust library) over the
/// whole corpus: ids with and without special tokens, and the decode of each both ways.
/// </summary>
public sealed class HuggingFaceParityTests
{
    public static TheoryData<string> Families =>
    [
        "llama2", "gemma3", "mistral_nemo", "llama3", "llama3_1", "llama3_2", "qwen3", "qwen2_5", "deepseek_v3", "gptoss", "gpt2", "gpt4o",
        "gemma", "gemma2", "internlm2", "chatglm3", "yi", "baichuan2",
    ];

    [Theory]
    [MemberData(nameof(Families))]
    public void Encodes_and_decodes_the_corpus_as_hugging_face_does(string family)
    {
        var tokenizer = ReferenceFixtures.Tokenizer(family);
        var corpus = ReferenceFixtures.Corpus;
        using var fixture = ReferenceFixtures.Read($"{family}.json.gz");
        var cases = fixture.RootElement.GetProperty("cases");
        Assert.Equal(corpus.Count, cases.GetArrayLength());

        var mismatches = new List<string>();
        var index = 0;
        foreach (var expected in cases.EnumerateArray())
        {
            Check(family, index, corpus[index], tokenizer, expected, mismatches);
            index++;
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {corpus.Count} strings differ from Hugging Face; first:\n{string.Join("\n", mismatches.Take(3))}");
    }

    /// <summary>Compares one string; fixture layout: [ids+special, ids, decode(ids+special), skip, decode(ids), skip].</summary>
    internal static void Check(string family, int index, string text, TokenGrid.Inference.Tokenizers.ModelTokenizer tokenizer, JsonElement expected, List<string> mismatches)
    {
        string Where(string what) => $"{family} #{index} {ReferenceFixtures.Show(text)}: {what}";
        for (var special = 0; special < 2; special++)
        {
            var addSpecial = special == 0;
            var want = ReferenceFixtures.Ids(expected[special]);
            var got = tokenizer.Encode(text, addSpecial);
            if (!want.SequenceEqual(got))
            {
                mismatches.Add(Where($"encode(add_special_tokens={addSpecial}) expected [{string.Join(", ", want)}] but was [{string.Join(", ", got)}]"));
                return;
            }

            for (var skip = 0; skip < 2; skip++)
            {
                var skipSpecial = skip == 1;
                var wantText = expected[2 + special * 2 + skip].GetString()!;
                var gotText = tokenizer.Decode(want, skipSpecial);
                if (wantText != gotText)
                {
                    mismatches.Add(Where($"decode(ids of add_special_tokens={addSpecial}, skip_special_tokens={skipSpecial}) expected {ReferenceFixtures.Show(wantText)} but was {ReferenceFixtures.Show(gotText)}"));
                    return;
                }
            }
        }
    }
}

/// <summary>Streaming real tokenizers: byte-fallback tokens (&lt;0xE2&gt;) are partial UTF-8 and must be held back.</summary>
public sealed class HuggingFaceStreamingTests
{
    [Theory]
    [InlineData("llama2")]
    [InlineData("gemma3")]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("gemma2")]
    [InlineData("internlm2")]
    [InlineData("chatglm3")]
    [InlineData("yi")]
    [InlineData("baichuan2")]
    public void Streams_back_exactly_the_decoded_text(string family)
    {
        var tokenizer = ReferenceFixtures.Tokenizer(family);
        const string text = "héllo 世界 🎉 👨‍👩‍👧 ünïcödé Привет\n\tdone  ";
        var ids = tokenizer.Encode(text, addSpecialTokens: false);
        var detokenizer = new TokenGrid.Inference.Tokenizers.StreamingDetokenizer(tokenizer);

        var pieces = ids.Select(detokenizer.Append).Append(detokenizer.Flush()).ToList();

        Assert.Equal(tokenizer.Decode(ids), string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD', StringComparison.Ordinal));
    }

    [Fact]
    public void Holds_back_llama2_byte_tokens_until_the_character_is_complete()
    {
        var tokenizer = ReferenceFixtures.Tokenizer("llama2");
        var ids = tokenizer.Encode("𓀀", addSpecialTokens: false);
        var detokenizer = new TokenGrid.Inference.Tokenizers.StreamingDetokenizer(tokenizer);

        // 𓀀 (U+13000) is not in the vocabulary: ▁ then its four bytes <0xF0> <0x93> <0x80> <0x80>; nothing shows until the last.
        var pieces = ids.Select(detokenizer.Append).ToList();

        Assert.True(ids.Length >= 4, $"expected byte-fallback tokens, got {ids.Length} ids");
        Assert.All(pieces.SkipLast(1), p => Assert.DoesNotContain('\uFFFD', p));
        Assert.Equal("𓀀", pieces[^1].TrimStart());
        Assert.Equal(tokenizer.Decode(ids), string.Concat(pieces) + detokenizer.Flush());
    }

    [Theory]
    [InlineData("llama2", "tokenizer.json BPE (Metaspace, byte fallback)")]
    [InlineData("gemma3", "tokenizer.json BPE (Metaspace, byte fallback)")]
    [InlineData("llama3", "tokenizer.json BPE (byte-level)")]
    public void Describes_its_family(string family, string expected)
    {
        Assert.Equal(expected, ReferenceFixtures.Tokenizer(family).Family);
    }
}
