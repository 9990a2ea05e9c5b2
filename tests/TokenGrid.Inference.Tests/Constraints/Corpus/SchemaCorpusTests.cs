using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace TokenGrid.Inference.Tests.Constraints.Corpus;

/// <summary>
/// The structured-output corpus (issue 18): every sampled identifier loads from the installed packages, is a valid
/// draft 2020-12 schema, and the validator agrees with the JSON Schema Test Suite's own verdicts.
/// </summary>
public sealed class SchemaCorpusTests(ITestOutputHelper output)
{
    [Fact]
    public void EveryIdentifierLoads()
    {
        var failures = SchemaCorpus.Sample().Select(Failure(id => SchemaCorpus.Load(id))).OfType<string>().ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void EverySchemaIsAValidDraft202012Schema()
    {
        var failures = SchemaCorpus.Sample().Select(Failure(id =>
        {
            var schema = SchemaCorpus.Load(id);
            Assert.Equal("https://json-schema.org/draft/2020-12/schema", schema["$schema"]?.GetValue<string>());
            var metaErrors = SchemaValidation.MetaSchemaErrors(schema);
            Assert.True(metaErrors.Count == 0, string.Join("; ", metaErrors));
            // Building resolves every reference; evaluating walks them.
            SchemaValidation.Errors(schema, "{}");
        })).OfType<string>().ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void EachSourceGivesAtLeast75AndTheWhole300()
    {
        var sample = SchemaCorpus.Sample();
        var bySource = sample.GroupBy(SchemaCorpus.Source).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", bySource.Select(p => $"{p.Key}: {p.Value}")));
        Assert.Equal(SchemaCorpus.Sources.Order(), bySource.Keys.Order());
        Assert.All(bySource, p => Assert.True(p.Value >= 75, $"{p.Key} gives {p.Value} schemas"));
        Assert.True(sample.Count >= 300, $"{sample.Count} schemas");
        Assert.Equal(sample.Count, sample.Distinct().Count());
    }

    [Fact]
    public void TheValidatorAgreesWithTheTestSuite()
    {
        var cases = 0;
        var disagreements = new List<string>();
        foreach (var id in SchemaCorpus.Sample().Where(i => SchemaCorpus.Source(i) == "test-suite"))
        {
            var schema = SchemaCorpus.Load(id);
            foreach (var test in SchemaCorpus.SuiteCases(id))
            {
                cases++;
                var errors = SchemaValidation.Errors(schema, test.Data?.ToJsonString() ?? "null");
                if (errors.Count == 0 != test.Valid)
                {
                    disagreements.Add($"{id} '{test.Description}': the suite says {(test.Valid ? "valid" : "invalid")}; errors: [{string.Join("; ", errors)}]");
                }
            }
        }

        output.WriteLine($"{cases} test-suite cases");
        Assert.True(disagreements.Count == 0, string.Join("\n", disagreements));
        Assert.True(cases > 200, $"only {cases} cases");
    }

    [Fact]
    public void FormatValidationIsOn()
    {
        var schema = JsonNode.Parse("""{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "string", "format": "date-time"}""")!;
        Assert.Empty(SchemaValidation.Errors(schema, "\"2026-12-03T12:00:00Z\""));
        Assert.NotEmpty(SchemaValidation.Errors(schema, "\"yesterday\""));
        Assert.NotEmpty(SchemaValidation.Errors(schema, "{\"not json"));
    }

    [Fact]
    public void KeywordHistogram()
    {
        var corpus = SchemaCorpus.Sample().Select(SchemaCorpus.Load).ToList();
        var histogram = corpus
            .SelectMany(SchemaKeywords.Used)
            .GroupBy(k => k, StringComparer.Ordinal)
            .Select(g => (Keyword: g.Key, Schemas: g.Count()))
            .OrderByDescending(p => p.Schemas).ThenBy(p => p.Keyword, StringComparer.Ordinal)
            .ToList();
        output.WriteLine($"keyword: corpus schemas using it (of {corpus.Count})");
        foreach (var (keyword, schemas) in histogram)
        {
            output.WriteLine($"{keyword}: {schemas}");
        }

        var formats = corpus
            .SelectMany(s => SchemaTree.Objects(s).Select(o => o["format"]?.GetValue<string>()).OfType<string>().Distinct())
            .GroupBy(f => f, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal);
        output.WriteLine("formats: " + string.Join(", ", formats.Select(g => $"{g.Key} {g.Count()}")));
        output.WriteLine($"type as a list (e.g. nullable): {corpus.Count(s => SchemaTree.Objects(s).Any(o => o["type"] is JsonArray))}");
        output.WriteLine($"recursive (a cycle among $defs, or $ref \"#\"): {corpus.Count(s => Recursive(s) || SchemaTree.Objects(s).Any(o => o["$ref"]?.GetValue<string>() == "#"))}");

        Assert.Contains(histogram, p => p.Keyword == "properties");
        Assert.DoesNotContain(histogram, p => p.Keyword.StartsWith("x-", StringComparison.Ordinal) || p.Keyword is "nullable" or "discriminator");
    }

    [Fact]
    public void SampleListIsWhatTheSeededGeneratorChooses()
    {
        var lines = CorpusSampler.Lines(CorpusSampler.Generate());
        if (Environment.GetEnvironmentVariable(CorpusSampler.RegenerateVariable) == "1")
        {
            File.WriteAllLines(SchemaCorpus.SampleListPath, lines);
            output.WriteLine($"Rewrote {SchemaCorpus.SampleListPath}");
        }

        Assert.Equal(lines, File.ReadAllLines(SchemaCorpus.SampleListPath));
    }

    /// <summary>Whether some definition of the schema reaches itself through references.</summary>
    private static bool Recursive(JsonNode schema)
    {
        var defs = schema["$defs"] as JsonObject ?? [];
        var edges = defs.ToDictionary(
            p => p.Key,
            p => SchemaTree.Objects(p.Value).Select(o => o["$ref"]?.GetValue<string>()).OfType<string>()
                .Where(r => r.StartsWith("#/$defs/", StringComparison.Ordinal))
                .Select(r => OpenApiSchemas.DefinitionName(r["#/$defs/".Length..])).ToList());
        bool Reaches(string from, string to, HashSet<string> seen) =>
            edges.TryGetValue(from, out var next) && next.Any(n => n == to || (seen.Add(n) && Reaches(n, to, seen)));
        return edges.Keys.Any(k => Reaches(k, k, []));
    }

    private static Func<string, string?> Failure(Action<string> check) => id =>
    {
        try
        {
            check(id);
            return null;
        }
        catch (Exception e)
        {
            return $"{id}: {e.GetType().Name}: {e.Message}";
        }
    };
}
