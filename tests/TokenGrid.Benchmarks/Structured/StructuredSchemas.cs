using TokenGrid.Inference.Constraints;

namespace TokenGrid.Benchmarks.Structured;

/// <summary>The schemas the <c>structured</c> scenario generates under.</summary>
internal static class StructuredSchemas
{
    /// <summary>
    /// A realistic <c>response_format</c> json_schema, as OpenAI's strict mode takes it (every property required, no
    /// others): bounded strings, a bounded integer, an enum, a boolean and a short array of short strings.
    /// </summary>
    public const string Profile = """
        {"type": "object",
         "properties": {
           "name": {"type": "string", "maxLength": 40},
           "summary": {"type": "string", "maxLength": 120},
           "age": {"type": "integer", "minimum": 0, "maximum": 150},
           "status": {"type": "string", "enum": ["active", "inactive", "pending", "banned"]},
           "verified": {"type": "boolean"},
           "tags": {"type": "array", "items": {"type": "string", "maxLength": 16}, "maxItems": 5}},
         "required": ["name", "summary", "age", "status", "verified", "tags"],
         "additionalProperties": false}
        """;

    /// <summary>Strings held by a pattern and by formats, the slowest strings to mask.</summary>
    public const string Patterned = """
        {"type": "object",
         "properties": {
           "order": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4,6}$"},
           "email": {"type": "string", "format": "email"},
           "placed": {"type": "string", "format": "date-time"},
           "id": {"type": "string", "format": "uuid"},
           "note": {"type": "string", "maxLength": 60}},
         "required": ["order", "email", "placed", "id", "note"],
         "additionalProperties": false}
        """;

    /// <summary>The schemas the mask timings walk, by the name their figures carry.</summary>
    public static IReadOnlyList<(string Name, JsonGrammar Grammar)> MaskSchemas() =>
    [
        ("json_schema", JsonGrammar.Compile(Profile)),
        ("json_object", JsonGrammar.AnyObject),
        ("pattern", JsonGrammar.Compile(Patterned)),
    ];
}
