using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Pointer;
using Json.Schema;

namespace TokenGrid.Inference.Tests.Constraints.Corpus;

/// <summary>
/// Validation by JsonSchema.Net (a well-kept validator, never ours), with format validation on: a structured
/// output is only as good as the validator that judges it.
/// </summary>
public static class SchemaValidation
{
    private static readonly Uri BaseUri = new("https://tokengrid.invalid/corpus/schema.json");
    private static readonly ConcurrentDictionary<string, JsonSchema> Built = new(StringComparer.Ordinal);

    private static readonly EvaluationOptions Options = new()
    {
        OutputFormat = OutputFormat.List,
        RequireFormatValidation = true,
    };

    /// <summary>
    /// The schema built by JsonSchema.Net; throws (<see cref="JsonSchemaException"/>, <see cref="RefResolutionException"/>)
    /// when it is not a valid schema or a reference does not resolve. Built once per distinct schema text.
    /// </summary>
    public static JsonSchema Build(JsonNode schema) =>
        Built.GetOrAdd(schema.ToJsonString(), text =>
        {
            // JsonSchema.Net resolves a reference when evaluation first reaches it; resolve them all now.
            if (UnresolvedReferences(schema).FirstOrDefault() is { } unresolved)
            {
                throw new JsonSchemaException($"The reference '{unresolved}' points at no schema inside the schema.");
            }

            // A registry per schema: every corpus schema has the same base URI, and none may see another's.
            var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
            using var document = JsonDocument.Parse(text);
            return JsonSchema.Build(document.RootElement.Clone(), options, BaseUri);
        });

    /// <summary>The references of <paramref name="schema"/> that point at nothing in it (every corpus reference is local).</summary>
    public static IEnumerable<string> UnresolvedReferences(JsonNode schema) =>
        SchemaTree.Objects(schema)
            .Select(o => o["$ref"]?.GetValue<string>())
            .OfType<string>()
            .Where(target => !target.StartsWith('#')
                || !JsonPointer.TryParse(target, out var pointer)
                || !pointer.TryEvaluate(schema, out var found)
                || !IsSchema(found));

    private static bool IsSchema(JsonNode? node) =>
        node is JsonObject || node?.GetValueKind() is JsonValueKind.True or JsonValueKind.False;

    /// <summary>
    /// Why <paramref name="instanceJson"/> does not validate against <paramref name="schema"/>: one message per error,
    /// prefixed with the instance location; empty when it validates. Text that is not JSON is an error too.
    /// </summary>
    public static IReadOnlyList<string> Errors(JsonNode schema, string instanceJson)
    {
        JsonElement instance;
        try
        {
            using var document = JsonDocument.Parse(instanceJson);
            instance = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return [$"The output is not JSON: {e.Message}"];
        }

        return Messages(Build(schema).Evaluate(instance, Options));
    }

    /// <summary>Why <paramref name="schema"/> is not a draft 2020-12 schema, by the meta-schema JsonSchema.Net ships; empty when it is.</summary>
    public static IReadOnlyList<string> MetaSchemaErrors(JsonNode schema)
    {
        using var document = JsonDocument.Parse(schema.ToJsonString());
        return Messages(MetaSchemas.Draft202012.Evaluate(document.RootElement, Options));
    }

    private static IReadOnlyList<string> Messages(EvaluationResults results)
    {
        if (results.IsValid)
        {
            return [];
        }

        var errors = new[] { results }.Concat(results.Details ?? [])
            .SelectMany(r => (r.Errors ?? new Dictionary<string, string>()).Select(e => $"{r.InstanceLocation}: {e.Value} ({e.Key} at {r.EvaluationPath})"))
            .ToList();
        return errors.Count > 0 ? errors : ["invalid (JsonSchema.Net gave no message)"];
    }
}
