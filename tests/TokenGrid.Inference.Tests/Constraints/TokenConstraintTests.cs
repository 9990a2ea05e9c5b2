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
