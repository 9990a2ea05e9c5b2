using System.Text.Json.Nodes;
using TokenGrid.Inference.Constraints;
using TokenGrid.Inference.Tests.Constraints.Corpus;

namespace TokenGrid.Inference.Tests.Constraints;

/// <summary>
/// Real schemas with values swapped for values of the wrong kind compile or are refused with a
/// <see cref="ConstraintException"/>: never another exception, which the API would turn into a 500.
/// </summary>
public sealed class SchemaFuzzTests
{
    private static readonly Func<Random, JsonNode?>[] s_values =
    [
        _ => null,
        r => JsonValue.Create(r.Next(-5, 5)),
        r => JsonValue.Create(r.NextDouble() * 1e30),
        _ => JsonValue.Create("#/$defs/nowhere"),
        _ => JsonValue.Create(true),
        _ => new JsonArray(1, "a", null),
        _ => new JsonObject { ["type"] = 3 },
        _ => new JsonArray(),
        _ => JsonValue.Create("^(a"),
    ];

    [Fact]
    public void Mutated_real_schemas_compile_or_are_refused_by_keyword()
    {
        var random = new Random(18);
        var sample = SchemaCorpus.Sample();
        for (var round = 0; round < 1_500; round++)
        {
            var schema = SchemaCorpus.Load(sample[random.Next(sample.Count)]).DeepClone();
            var objects = SchemaTree.Objects(schema).ToList();
            for (var edits = 0; edits < 3 && objects.Count > 0; edits++)
            {
                var target = objects[random.Next(objects.Count)];
                var names = target.Select(p => p.Key).ToList();
                var name = names.Count > 0 && random.Next(3) > 0 ? names[random.Next(names.Count)]
                    : ((string[])["type", "required", "anyOf", "allOf", "enum", "items", "prefixItems", "properties", "minLength", "$ref", "pattern"])[random.Next(11)];
                target[name] = s_values[random.Next(s_values.Length)](random);
            }

            try
            {
                JsonGrammar.Compile(schema!.ToJsonString());
            }
            catch (ConstraintException)
            {
            }
        }
    }
}
