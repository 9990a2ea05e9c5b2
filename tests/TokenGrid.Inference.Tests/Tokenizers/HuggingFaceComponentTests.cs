using System.Text.Json;

namespace TokenGrid.Inference.Tests.Tokenizers;

/// <summary>
/// Small hand-written tokenizer.json files (tests/reference/tokenizer-components.mjs) for what the real files do
/// not exercise: Split behaviours and invert, Metaspace prepend schemes, Digits, Punctuation, Whitespace, added
/// tokens' lstrip/rstrip/single_word/normalized, normalizers, decoders, templates. Expected values are Hugging Face's.
/// </summary>
public sealed class HuggingFaceComponentTests
{
    // NFKC needs Unicode compatibility data that invariant globalization leaves out: refused, not approximated.
    private static readonly HashSet<string> s_refused = ["nfkc"];

    private static readonly Lazy<JsonDocument> s_components = new(() => ReferenceFixtures.Read("components.json.gz"));

    public static TheoryData<string> Components =>
        [.. s_components.Value.RootElement.EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(Components))]
    public void Matches_hugging_face(string name)
    {
        var component = s_components.Value.RootElement.EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
        using var directory = new TempDirectory();
        File.WriteAllText(directory.File("tokenizer.json"), component.GetProperty("tokenizer").GetRawText());
        if (s_refused.Contains(name))
        {
            var error = Assert.Throws<TokenGrid.Inference.Models.InvalidModelException>(() => TokenizerFixtures.Load(directory));
            Assert.Contains("tokenizer.json: normalizer.type", error.Message, StringComparison.Ordinal);
            return;
        }

        var tokenizer = TokenizerFixtures.Load(directory);

        var mismatches = new List<string>();
        var index = 0;
        foreach (var expected in component.GetProperty("cases").EnumerateArray())
        {
            var rest = JsonDocument.Parse(JsonSerializer.Serialize(expected.EnumerateArray().Skip(1).ToArray())).RootElement;
            HuggingFaceParityTests.Check(name, index++, expected[0].GetString()!, tokenizer, rest, mismatches);
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} cases differ from Hugging Face; first:\n{string.Join("\n", mismatches.Take(3))}");
    }
}
