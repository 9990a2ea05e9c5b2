using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Tests.Constraints.Corpus;

/// <summary>Which JSON Schema keywords a schema uses, so that the corpus tells what a schema compiler must support.</summary>
public static class SchemaKeywords
{
    /// <summary>
    /// The keywords used anywhere in <paramref name="schema"/>: the property names of every schema object in it,
    /// reached through the keywords whose values are schemas (names inside <c>properties</c> are not keywords).
    /// </summary>
    public static IReadOnlySet<string> Used(JsonNode schema) =>
        SchemaTree.Objects(schema).SelectMany(o => o.Select(p => p.Key)).ToHashSet(StringComparer.Ordinal);
}
