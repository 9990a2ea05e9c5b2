using System.Collections.Concurrent;
using TokenGrid.Inference.Constraints;
using TokenGrid.Inference.Tests.Constraints.Corpus;
using Xunit.Abstractions;

namespace TokenGrid.Inference.Tests.Constraints;

/// <summary>
/// Every schema of the real corpus (schemas.txt: GitHub's API, APIs.guru's directory, Kubernetes, the JSON Schema Test
/// Suite) either compiles, and then random tokens of a real vocabulary under it always make a value that JsonSchema.Net
/// (format validation on) accepts, or is refused naming a keyword the schema really uses.
/// </summary>
public sealed class CorpusGenerationTests(ITestOutputHelper output)
{
    /// <summary>Tokens each walk may use beyond the schema's shortest value, as a request would give.</summary>
    private const int MaxTokens = 400;

    [Fact]
    public void Every_corpus_schema_generates_valid_values_or_is_refused_by_keyword()
    {
        var sample = SchemaCorpus.Sample();
        var refused = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var failures = new ConcurrentBag<string>();
        var compiled = 0;
        var loaded = sample.Select(id => (Id: id, Schema: SchemaCorpus.Load(id))).ToList();
        Parallel.ForEach(loaded, new ParallelOptions { MaxDegreeOfParallelism = 2 }, entry =>
        {
            var text = entry.Schema.ToJsonString();
            JsonGrammar grammar;
            try
            {
                grammar = JsonGrammar.Compile(text);
            }
            catch (ConstraintException e)
            {
                refused.AddOrUpdate(e.Keyword, 1, (_, n) => n + 1);
                if (e.Keyword != "schema" && !SchemaKeywords.Used(entry.Schema).Contains(e.Keyword))
                {
                    failures.Add($"{entry.Id}: refused for '{e.Keyword}', which it does not use: {e.Message}");
                }

                return;
            }

            Interlocked.Increment(ref compiled);
            var seed = StableSeed(entry.Id);
            var budget = Math.Max(MaxTokens, grammar.ShortestValueBytes + MaxTokens);
            var result = ConstrainedWalk.Run(grammar, "qwen2_5", budget, seed);
            if (!result.Complete)
            {
                failures.Add($"{entry.Id}: no complete value in {budget} tokens: {System.Text.Json.JsonSerializer.Serialize(result.Text)}");
                return;
            }

            var errors = SchemaValidation.Errors(entry.Schema, result.Text);
            if (errors.Count > 0)
            {
                failures.Add($"{entry.Id}: {string.Join("; ", errors.Take(3))}\n  value: {result.Text[..Math.Min(400, result.Text.Length)]}");
            }
        });

        output.WriteLine($"{sample.Count} schemas: {compiled} compiled, refused by keyword: "
            + string.Join(", ", refused.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {r.Value}")));
        Assert.True(failures.IsEmpty, $"{failures.Count} failures:\n" + string.Join("\n", failures.Take(15)));
        Assert.True(compiled >= 300, $"Only {compiled} of {sample.Count} corpus schemas compile.");
    }

    private static int StableSeed(string id) => id.Aggregate(17, (h, c) => unchecked((h * 31) + c));
}
