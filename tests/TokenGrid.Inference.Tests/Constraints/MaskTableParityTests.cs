using TokenGrid.Inference.Constraints;

namespace TokenGrid.Inference.Tests.Constraints;

/// <summary>
/// The mask's tables for the places a random walk seldom reaches (runs of digits in numbers, the byte after a backslash,
/// the middle of a character, strings whose budget has run tight) equal walking every token, at every budget from one
/// below what is left to a loose one.
/// </summary>
public sealed class MaskTableParityTests
{
    private const string Numbers = """{"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "number"}, {"type": "string", "minLength": 2, "maxLength": 4}]}, "maxItems": 4}""";
    private const string Bounded = """{"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 150}, "x": {"type": "number", "maximum": 2.5}}}""";
    private const string DigitsElsewhere = """{"type": "array", "items": {"anyOf": [{"type": "integer"}, {"enum": [12, 7.5, "x"]}]}}""";
    private const string FreeKeys = """{"type": "object", "additionalProperties": {"type": "integer"}}""";
    private const string Bodies = """{"type": "object", "properties": {"s": {"type": "string", "minLength": 3, "maxLength": 6}, "t": {"type": "string"}}, "additionalProperties": {"type": "string", "minLength": 2}}""";

    /// <summary>
    /// The written prefix is given byte by byte (each char one byte, as Latin-1), so it can stop inside a character.
    /// </summary>
    [Theory]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": ")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\":\n\n")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": -")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": -4")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": 0")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": 12")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": 12345678901234")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": 123456789012345")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": 1.")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": 1.5")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": -0.12345678901")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": [")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": [1, ")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": [[], {\"b\": 3")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": \"x\\")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": \"\\")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": \"x\\\\\\")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": \"x\u00C3")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": \"x\u00E4\u00B8")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": \"x\\n")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"ab")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": \"x\", \"b")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": \"some text that goes on")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\n  ")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": 1, ")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": 1,\n")]
    [InlineData(JsonGrammar.AnyObjectSchema, "{\"a\": {\"b\": [], \n")]
    [InlineData(FreeKeys, "{\"ab\": 1, ")]
    [InlineData(FreeKeys, "{\"ab\": 1,\n\t")]
    [InlineData(FreeKeys, "{\"a\": 1, \"\": 2, ")]
    [InlineData(FreeKeys, "{\"\": 2, \"x")]
    [InlineData(Numbers, "[")]
    [InlineData(Numbers, "[7, -")]
    [InlineData(Numbers, "[7, 30")]
    [InlineData(Numbers, "[7, 0.")]
    [InlineData(Numbers, "[\"ab\", \"c\\")]
    [InlineData(Numbers, "[\"a")]
    [InlineData(Bounded, "{\"n\": ")]
    [InlineData(Bounded, "{\"n\": 1")]
    [InlineData(Bounded, "{\"x\": 2")]
    [InlineData(Bounded, "{\"x\": -1.2")]
    [InlineData(DigitsElsewhere, "[")]
    [InlineData(DigitsElsewhere, "[1")]
    [InlineData(DigitsElsewhere, "[12, 7")]
    [InlineData(Bodies, "{\"s\": \"")]
    [InlineData(Bodies, "{\"s\": \"a\\")]
    [InlineData(Bodies, "{\"s\": \"ab")]
    [InlineData(Bodies, "{\"s\": \"abcde\\")]
    [InlineData(Bodies, "{\"t\": \"\\")]
    [InlineData(Bodies, "{\"zz\": \"a")]
    [InlineData(Bodies, "{\"zz\": \"a\\")]
    [InlineData(Bodies, "{\"zz\": \"a\u00C3")]
    public void The_mask_equals_walking_every_token_at_every_budget(string schema, string written)
    {
        var grammar = JsonGrammar.Compile(schema);
        foreach (var family in (string[])["qwen2_5", "llama3_1", "gpt2"])
        {
            var (vocabulary, _, ends) = ConstrainedWalk.Vocabulary(family);
            var constraint = new TokenConstraint(grammar, vocabulary, ends);
            constraint.Advance(System.Text.Encoding.Latin1.GetBytes(written));
            Assert.False(constraint.IsBroken, written);
            var fast = new ulong[vocabulary.Words];
            var slow = new ulong[vocabulary.Words];

            // tokensLeft counts the token being chosen: one more than the bytes that may follow it.
            var left = constraint.Remaining;
            foreach (var tokensLeft in (int[])[left - 1, left, left + 1, left + 2, left + 3, left + 6, 200])
            {
                var allowed = constraint.FillMask(fast, tokensLeft, new MaskScratch());
                var walked = constraint.FillMaskByWalking(slow, tokensLeft, new MaskScratch());
                var differ = Enumerable.Range(0, vocabulary.Size).Where(id => ((fast[id >> 6] ^ slow[id >> 6]) & (1UL << (id & 63))) != 0).Take(5).ToList();
                Assert.True(differ.Count == 0, $"{family}, {tokensLeft} tokens left (remaining {left}): masks differ on {string.Join(", ", differ.Select(id => $"{Convert.ToHexString(vocabulary.Bytes(id) ?? [])} (fast {(fast[id >> 6] >> (id & 63)) & 1})"))}");
                Assert.Equal(walked, allowed);
                Assert.True(allowed > 0);
            }
        }
    }
}
