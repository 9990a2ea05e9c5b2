using System.Text.Json;
using TokenGrid.Inference.Constraints;

namespace TokenGrid.Inference.Tests.Constraints;

public sealed class TokenConstraintTests
{
    [Theory]
    [InlineData("qwen2_5")]
    [InlineData("llama3_1")]
    [InlineData("gpt2")]
    public void Random_tokens_under_an_object_schema_give_a_valid_object(string family)
    {
        var grammar = JsonGrammar.Compile("""
            {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer", "minimum": 0, "maximum": 150},
             "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3}, "ok": {"type": "boolean"}},
             "required": ["name", "age"], "additionalProperties": false}
            """);
        for (var seed = 0; seed < 20; seed++)
        {
            var result = ConstrainedWalk.Run(grammar, family, 200, seed);
            Assert.True(result.Complete, $"Not complete: {result.Text}");
            using var json = JsonDocument.Parse(result.Text);
            var root = json.RootElement;
            Assert.Equal(JsonValueKind.String, root.GetProperty("name").ValueKind);
            Assert.InRange(root.GetProperty("name").GetString()!.EnumerateRunes().Count(), 0, 20);
            Assert.InRange(root.GetProperty("age").GetInt32(), 0, 150);
            Assert.All(root.EnumerateObject(), p => Assert.Contains(p.Name, (string[])["name", "age", "tags", "ok"]));
        }
    }

    [Fact]
    public void A_tight_budget_still_ends_in_a_complete_value()
    {
        var grammar = JsonGrammar.Compile("""{"type": "object", "properties": {"text": {"type": "string"}, "items": {"type": "array", "items": {"type": "string"}}}, "required": ["text", "items"]}""");
        for (var seed = 0; seed < 20; seed++)
        {
            var result = ConstrainedWalk.Run(grammar, "qwen2_5", 40, seed);
            Assert.True(result.Complete, $"Not complete within 40 tokens: {result.Text}");
            using var json = JsonDocument.Parse(result.Text);
            Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("items").ValueKind);
        }
    }

    [Fact]
    public void Json_object_mode_gives_an_object()
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var result = ConstrainedWalk.Run(JsonGrammar.AnyObject, "llama3_1", 60, seed);
            Assert.True(result.Complete, result.Text);
            using var json = JsonDocument.Parse(result.Text);
            Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        }
    }

    [Theory]
    [InlineData("""{"type": "object", "patternProperties": {"^a": {}}}""", "patternProperties")]
    [InlineData("""{"type": "number", "multipleOf": 0.5}""", "multipleOf")]
    [InlineData("""{"not": {"type": "string"}}""", "not")]
    [InlineData("""{"$ref": "https://example.com/schema.json"}""", "$ref")]
    [InlineData("""{"$ref": "#/$defs/missing"}""", "$ref")]
    [InlineData("""{"type": "string", "minLength": 5, "maxLength": 2}""", "schema")]
    [InlineData("""{"type": "array", "minItems": 1, "items": false}""", "schema")]
    [InlineData("""not json""", "schema")]
    public void Unsupported_or_impossible_schemas_are_refused_naming_the_keyword(string schema, string keyword)
    {
        var e = Assert.Throws<ConstraintException>(() => JsonGrammar.Compile(schema));
        Assert.Equal(keyword, e.Keyword);
    }

    [Theory]
    [InlineData("""{"type": "string", "format": "date-time"}""")]
    [InlineData("""{"type": "string", "format": "email"}""")]
    [InlineData("""{"type": "string", "pattern": "^[a-z]+$", "maxLength": 12}""")]
    [InlineData("""{"type": "string", "pattern": "^\\+?[1-9][0-9]{4,10}$"}""")]
    public void Pattern_and_format_strings_never_take_a_byte_they_cannot_finish(string schema)
    {
        // A character's first byte or a backslash is taken only when the pattern can take some character it begins.
        for (var seed = 0; seed < 10; seed++)
        {
            var result = ConstrainedWalk.Run(JsonGrammar.Compile(schema), "qwen2_5", 60, seed);
            Assert.True(result.Complete, result.Text);
        }
    }
}

/// <summary>
/// The fast mask (precomputed string tables, opening quotes from tables, tokens skipped by their first bytes) equals the
/// slow one (every token walked, every byte stepped), on random walks whose budgets also run tight.
/// </summary>
public sealed class MaskParityTests
{
    [Theory]
    [InlineData("""{"type": "object", "properties": {"a": {"type": "string", "minLength": 3, "maxLength": 9}, "b": {"type": "array", "items": {"type": "string"}}, "c": {"enum": ["x\"y", "é"]}}, "required": ["a", "b", "c"]}""", "qwen2_5")]
    [InlineData("""{"type": "object", "additionalProperties": {"type": "string", "maxLength": 5}}""", "llama3_1")]
    [InlineData("""{"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}, "maxItems": 6}""", "gpt2")]
    [InlineData("""{"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "n": {"type": "string", "minLength": 40}}, "required": ["id", "n"]}""", "qwen2_5")]
    [InlineData("""{"type": "array", "items": {"type": "string", "pattern": "^[a-z ]+\\.[0-9]{2}$", "maxLength": 12}, "minItems": 2, "maxItems": 3}""", "llama3_1")]
    [InlineData("""{"type": "object", "properties": {"when": {"type": "string", "format": "date-time"}}, "required": ["when"]}""", "qwen2_5")]
    [InlineData(JsonGrammar.AnyObjectSchema, "qwen2_5")]
    [InlineData(JsonGrammar.AnyObjectSchema, "llama3_1")]
    [InlineData(JsonGrammar.AnyObjectSchema, "gpt2")]
    [InlineData("""{"type": "array", "items": {"anyOf": [{"type": "number"}, {"type": "array", "items": {"type": "integer"}}]}}""", "llama3_1")]
    [InlineData("""{"type": "array", "items": {"type": "integer", "minimum": -20, "maximum": 3000}, "minItems": 8, "maxItems": 12}""", "gpt2")]
    [InlineData("""{"type": "object", "properties": {"p": {"type": "number", "minimum": 0.5, "exclusiveMaximum": 99}}, "additionalProperties": {"type": "integer", "maximum": 10}}""", "llama3_1")]
    [InlineData("""{"type": "object", "properties": {"n": {"type": "integer", "minimum": -5, "maximum": 900}, "x": {"type": "number"}, "e": {"enum": ["on", "off", 1, null, true]}, "m": {"type": "array", "items": {"type": "array", "items": {"type": "number"}, "maxItems": 3}, "maxItems": 3}}, "required": ["n", "e", "m"]}""", "gpt2")]
    [InlineData("""{"type": "object", "properties": {"name": {"type": "string", "maxLength": 40}, "age": {"type": "integer", "minimum": 0, "maximum": 150}, "status": {"type": "string", "enum": ["active", "inactive"]}, "verified": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string", "maxLength": 16}, "maxItems": 5}}, "required": ["name", "age", "status", "verified", "tags"], "additionalProperties": false}""", "qwen2_5")]
    [InlineData("""{"type": "object", "properties": {"order": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4,6}$"}, "email": {"type": "string", "format": "email"}, "id": {"type": "string", "format": "uuid"}}, "required": ["order", "email", "id"], "additionalProperties": false}""", "llama3_1")]
    public void The_fast_mask_equals_walking_every_token(string schema, string family)
    {
        var (vocabulary, _, ends) = ConstrainedWalk.Vocabulary(family);
        var grammar = JsonGrammar.Compile(schema);
        var fast = new ulong[vocabulary.Words];
        var slow = new ulong[vocabulary.Words];
        var checkedSteps = 0;
        for (var seed = 0; seed < 4; seed++)
        {
            var constraint = new TokenConstraint(grammar, vocabulary, ends);
            var random = new Random(seed);
            var text = new System.Text.StringBuilder();
            const int MaxTokens = 60;
            for (var step = 0; step < MaxTokens && !constraint.IsComplete; step++)
            {
                var allowed = constraint.FillMask(fast, MaxTokens - step, new MaskScratch());
                constraint.FillMaskByWalking(slow, MaxTokens - step, new MaskScratch());
                var differ = Enumerable.Range(0, vocabulary.Size).Where(id => ((fast[id >> 6] ^ slow[id >> 6]) & (1UL << (id & 63))) != 0).Take(5).ToList();
                Assert.True(differ.Count == 0, $"Step {step} after {System.Text.Json.JsonSerializer.Serialize(text.ToString())} (remaining {constraint.Remaining}, tokens left {MaxTokens - step}): masks differ on {string.Join(", ", differ.Select(id => $"{id} ({Convert.ToHexString(vocabulary.Bytes(id) ?? [])}, fast {((fast[id >> 6] >> (id & 63)) & 1)})"))}");
                checkedSteps++;
                var choices = Enumerable.Range(0, vocabulary.Size).Where(id => (fast[id >> 6] & (1UL << (id & 63))) != 0 && !ends.Contains(id)).ToArray();
                if (choices.Length == 0 || allowed == 0)
                {
                    break;
                }

                var pick = choices[random.Next(choices.Length)];
                text.Append(System.Text.Encoding.Latin1.GetString(vocabulary.Bytes(pick)!));
                constraint.Advance(pick);
            }
        }

        Assert.True(checkedSteps > 20);
    }
}

/// <summary>A free key's closing tokens come from one walk after the quote; a key the object has already is still refused.</summary>
public sealed class FreeKeyMaskTests
{
    [Theory]
    [InlineData("qwen2_5", "{\"a\": 1, \"a", "")]
    [InlineData("qwen2_5", "{\"a\": 1, \"", "a")]
    [InlineData("qwen2_5", "{\"name\": \"x\", \"n", "ame")]
    [InlineData("qwen2_5", "{\"ab\": [], \"n", "ame")]
    [InlineData("llama3_1", "{\"id\": true,\"id", "")]
    [InlineData("llama3_1", "{\"id\": true,\"", "id")]
    [InlineData("gpt2", "{\"b\": 2, \"id\": null, \"b", "")]
    public void A_used_key_is_refused_and_the_mask_equals_walking_every_token(string family, string written, string used)
    {
        var (vocabulary, _, ends) = ConstrainedWalk.Vocabulary(family);
        var grammar = JsonGrammar.Compile("""{"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "array"}, {"type": "boolean"}, {"type": "null"}]}}""");
        var constraint = new TokenConstraint(grammar, vocabulary, ends);
        constraint.Advance(System.Text.Encoding.UTF8.GetBytes(written));
        Assert.False(constraint.IsBroken);
        var fast = new ulong[vocabulary.Words];
        var slow = new ulong[vocabulary.Words];
        constraint.FillMask(fast, 100, new MaskScratch());
        constraint.FillMaskByWalking(slow, 100, new MaskScratch());
        Assert.Equal(slow, fast);

        // Every token that writes the rest of a used key and closes it is refused (none of them is a declared key).
        var closing = System.Text.Encoding.UTF8.GetBytes(used + "\"");
        var refused = Enumerable.Range(0, vocabulary.Size).Where(i => vocabulary.Bytes(i) is { } b && b.AsSpan().StartsWith(closing)).ToList();
        Assert.All(refused, id => Assert.True((fast[id >> 6] & (1UL << (id & 63))) == 0, $"{Convert.ToHexString(vocabulary.Bytes(id)!)} allowed"));
        Assert.True(used.Length > 0 || refused.Count > 0);
    }
}

/// <summary>Schemas built to make every token expensive are refused when compiled, before any generation.</summary>
public sealed class HostileSchemaTests
{
    [Theory]
    [InlineData("""{"anyOf": [{"$ref": "#"}, {"type": "string"}]}""", "$ref")]
    [InlineData("""{"$defs": {"a": {"anyOf": [{"$ref": "#/$defs/b"}, {"type": "null"}]}, "b": {"anyOf": [{"$ref": "#/$defs/a"}, {"type": "integer"}]}}, "$ref": "#/$defs/a"}""", "$ref")]
    public void Left_recursion_is_refused(string schema, string keyword) =>
        Assert.Equal(keyword, Assert.Throws<ConstraintException>(() => JsonGrammar.Compile(schema)).Keyword);

    [Fact]
    public void Choices_that_multiply_are_refused()
    {
        // Twelve levels of two-way choices through references: 4,096 ways for a value to start, from 25 definitions.
        var defs = new System.Text.Json.Nodes.JsonObject { ["l12"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "string" } };
        for (var i = 11; i >= 0; i--)
        {
            defs[$"l{i}"] = System.Text.Json.Nodes.JsonNode.Parse($$"""{"anyOf": [{"$ref": "#/$defs/l{{i + 1}}"}, {"$ref": "#/$defs/l{{i + 1}}"}]}""");
        }

        var schema = new System.Text.Json.Nodes.JsonObject { ["$defs"] = defs, ["$ref"] = "#/$defs/l0" };
        Assert.Equal("anyOf", Assert.Throws<ConstraintException>(() => JsonGrammar.Compile(schema.ToJsonString())).Keyword);
    }

    [Fact]
    public void Recursion_through_a_value_is_fine()
    {
        var grammar = JsonGrammar.Compile("""{"$defs": {"node": {"type": "object", "properties": {"next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}}, "required": ["next"]}}, "$ref": "#/$defs/node"}""");
        var result = ConstrainedWalk.Run(grammar, "gpt2", 80, 3);
        Assert.True(result.Complete, result.Text);
    }
}

/// <summary>An integer prefix is reachable exactly when some allowed integer begins with it.</summary>
public sealed class IntegerPrefixTests
{
    [Theory]
    [InlineData(0, 150, false, false)]
    [InlineData(-20, 7, false, true)]
    [InlineData(-999, -40, true, false)]
    [InlineData(1000, 1200, false, false)]
    public void Reachable_equals_some_allowed_integer_beginning_with_the_prefix(int min, int max, bool minExclusive, bool maxExclusive)
    {
        var bounds = new NumberBounds(true, min, minExclusive, max, maxExclusive);
        var allowed = Enumerable.Range(min - 1, max - min + 3).Where(n => bounds.Allows(n)).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        foreach (var sign in (string[])["", "-"])
        {
            for (var n = 1; n < 100_000; n++)
            {
                var text = sign + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
                NumberPrefix? prefix = default(NumberPrefix);
                foreach (var b in System.Text.Encoding.ASCII.GetBytes(text))
                {
                    prefix = prefix?.Push(b, true);
                }

                Assert.NotNull(prefix);
                Assert.True(allowed.Any(a => a.StartsWith(text, StringComparison.Ordinal)) == bounds.Reachable(prefix.Value), text);
            }
        }
    }
}

/// <summary>A <c>const</c> or <c>enum</c> literal is generated with JSON's own escapes only, characters beyond the BMP as themselves.</summary>
public sealed class LiteralTextTests
{
    [Theory]
    [InlineData("""{"const": "😀中文🎉é👨‍👩‍👧"}""", "\"😀中文🎉é👨‍👩‍👧\"")]
    [InlineData("""{"enum": ["a\"b\\c\n\t\u0001", "𝄞"]}""", "\"a\\\"b\\\\c\\n\\t\\u0001\"")]
    [InlineData("""{"const": {"k😀": ["𝄞", 1.5, null]}}""", "{\"k😀\":[\"𝄞\",1.5,null]}")]
    public void Literals_are_written_with_json_escapes_only(string schema, string first)
    {
        using var document = JsonDocument.Parse(schema);
        var value = document.RootElement.TryGetProperty("const", out var constant) ? constant : document.RootElement.GetProperty("enum")[0];
        var text = JsonSchemaCompiler.Compact(value);
        Assert.Equal(first, text);
        using var reparsed = JsonDocument.Parse(text);
        Assert.True(JsonElement.DeepEquals(value, reparsed.RootElement));

        // And generation writes exactly that literal.
        var grammar = JsonGrammar.Compile(schema);
        var result = ConstrainedWalk.Run(grammar, "qwen2_5", 60, seed: 1);
        Assert.True(result.Complete, result.Text);
        Assert.DoesNotContain("\\uD8", result.Text, StringComparison.OrdinalIgnoreCase);
        using var generated = JsonDocument.Parse(result.Text);
    }
}
