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
