using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Tests.Constraints.Corpus;

/// <summary>How an OpenAPI component schema becomes a standalone draft 2020-12 schema, on a small document.</summary>
public sealed class OpenApiSchemasTests
{
    private static JsonObject Document(string openapi) => (JsonObject)JsonNode.Parse($$"""
        {
          "openapi": "{{openapi}}",
          "components": { "schemas": {
            "Pet": {
              "type": "object", "x-internal": true, "discriminator": { "propertyName": "kind" }, "example": { "name": "Rex" },
              "properties": {
                "name": { "type": "string", "nullable": true, "xml": { "name": "n" } },
                "example": { "type": "string" },
                "x-tag": { "$ref": "#/components/schemas/Tag" },
                "owner": { "$ref": "#/components/schemas/Owner", "nullable": true },
                "ownerName": { "$ref": "#/components/schemas/Owner/properties/name" },
                "age": { "type": "integer", "minimum": 0, "exclusiveMinimum": true },
                "size": { "enum": ["s", "m"], "nullable": true }
              },
              "required": ["name"]
            },
            "Tag": { "type": "string", "externalDocs": { "url": "https://example.com" } },
            "Owner": { "type": "object", "properties": { "name": { "type": "string" }, "pet": { "$ref": "#/components/schemas/Pet" } } },
            "Unreached": { "type": "object" }
          } }
        }
        """)!;

    [Fact]
    public void An_OpenApi_30_schema_becomes_standalone_2020_12()
    {
        var schema = OpenApiSchemas.Standalone(Document("3.0.3"), "Pet");

        Assert.Equal(OpenApiSchemas.Draft202012, schema["$schema"]!.GetValue<string>());
        Assert.False(schema.ContainsKey("x-internal") || schema.ContainsKey("discriminator") || schema.ContainsKey("example"));
        var properties = schema["properties"]!.AsObject();
        Assert.True(properties.ContainsKey("example") && properties.ContainsKey("x-tag"), "property names are not keywords");
        Assert.Equal("""{"type":["string","null"]}""", properties["name"]!.ToJsonString());
        Assert.Equal("#/$defs/Tag", properties["x-tag"]!["$ref"]!.GetValue<string>());
        Assert.Equal("""{"anyOf":[{"$ref":"#/$defs/Owner"},{"type":"null"}]}""", properties["owner"]!.ToJsonString());
        Assert.Equal("#/$defs/Owner/properties/name", properties["ownerName"]!["$ref"]!.GetValue<string>());
        Assert.Equal("""{"type":"integer","exclusiveMinimum":0}""", properties["age"]!.ToJsonString());
        Assert.Equal("""{"enum":["s","m",null]}""", properties["size"]!.ToJsonString());
        Assert.Equal(["Owner", "Pet", "Tag"], schema["$defs"]!.AsObject().Select(p => p.Key));
        Assert.Equal("""{"type":"string"}""", schema["$defs"]!["Tag"]!.ToJsonString());
        Assert.Empty(SchemaValidation.UnresolvedReferences(schema));
        Assert.Empty(SchemaValidation.MetaSchemaErrors(schema));

        Assert.Empty(SchemaValidation.Errors(schema, """{"name": null, "owner": {"name": "x", "pet": {"name": "y"}}, "ownerName": "z", "age": 1}"""));
        Assert.NotEmpty(SchemaValidation.Errors(schema, """{"name": "x", "age": 0}"""));
        Assert.NotEmpty(SchemaValidation.Errors(schema, """{"name": "x", "owner": {"pet": {"name": 3}}}"""));
        Assert.NotEmpty(SchemaValidation.Errors(schema, """{"name": "x", "ownerName": 3}"""));
        Assert.Empty(SchemaValidation.Errors(schema, """{"name": "x", "owner": null, "size": null}"""));
    }

    [Fact]
    public void An_OpenApi_31_schema_keeps_its_json_schema_meaning()
    {
        var schema = OpenApiSchemas.Standalone(Document("3.1.0"), "Tag");

        Assert.Equal("""{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"string"}""", schema.ToJsonString());
    }

    [Fact]
    public void A_reference_outside_the_schemas_is_refused()
    {
        var document = Document("3.0.0");
        document["components"]!["schemas"]!["Tag"] = JsonNode.Parse("""{"$ref": "#/components/parameters/P"}""");

        Assert.Throws<InvalidDataException>(() => OpenApiSchemas.Standalone(document, "Pet"));
    }

    [Fact]
    public void Keywords_are_the_names_of_schema_objects_members_not_of_properties()
    {
        var schema = OpenApiSchemas.Standalone(Document("3.0.3"), "Pet");

        Assert.Equal(
            ["$defs", "$ref", "$schema", "anyOf", "enum", "exclusiveMinimum", "properties", "required", "type"],
            SchemaKeywords.Used(schema).Order(StringComparer.Ordinal));
    }
}
