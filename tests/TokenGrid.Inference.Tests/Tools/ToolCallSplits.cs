using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Inference.Tools;

namespace TokenGrid.Inference.Tests.Tools;

/// <summary>Feeds one output to a <see cref="ToolCallStream"/> in every way it can arrive, and compares with the parser.</summary>
internal static class ToolCallSplits
{
    /// <summary>
    /// Every split with one or two cuts (empty pieces included), plus seeded random splits into many pieces, must give
    /// the calls and content of <see cref="ToolCallParser.Parse"/>; every delta must be well formed.
    /// </summary>
    public static void AssertEverySplitAgrees(ToolCallSyntax syntax, string text, int randomSplits = 300)
    {
        var expected = ToolCallParser.Parse(syntax, text);
        for (var i = 0; i <= text.Length; i++)
        {
            for (var j = i; j <= text.Length; j++)
            {
                AssertAgrees(syntax, expected, [text[..i], text[i..j], text[j..]]);
            }
        }

        var random = new Random(text.Length);
        for (var n = 0; n < randomSplits; n++)
        {
            var cuts = Enumerable.Range(0, random.Next(3, 16)).Select(_ => random.Next(text.Length + 1)).Append(0).Append(text.Length).Order().ToArray();
            AssertAgrees(syntax, expected, [.. cuts.Zip(cuts.Skip(1), (a, b) => text[a..b])]);
        }
    }

    /// <summary>Whether two JSON texts hold the same value (object key order aside).</summary>
    public static bool JsonEquals(string a, string b) => JsonNode.DeepEquals(JsonNode.Parse(a), JsonNode.Parse(b));

    private static void AssertAgrees(ToolCallSyntax syntax, ToolCallParse expected, string[] pieces)
    {
        var stream = new ToolCallStream(syntax);
        var deltas = pieces.SelectMany(stream.Push).ToList();
        deltas.AddRange(stream.Finish());
        Assert.DoesNotContain(deltas, d => d is ContentDelta { Text.Length: 0 });
        var actual = ToolCallParser.Collect(deltas);
        if (actual.Content != expected.Content || !actual.Calls.SequenceEqual(expected.Calls))
        {
            Assert.Fail($"Pieces {JsonSerializer.Serialize(pieces)} gave {Show(actual)}, the whole text {Show(expected)}.");
        }
    }

    private static string Show(ToolCallParse parse) =>
        $"content {JsonSerializer.Serialize(parse.Content)} and calls [{string.Join(", ", parse.Calls.Select(c => $"{c.Name} {c.ArgumentsJson}"))}]";
}
