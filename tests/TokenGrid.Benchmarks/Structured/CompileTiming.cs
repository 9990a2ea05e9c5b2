using System.Diagnostics;
using System.Text.Json.Nodes;
using TokenGrid.Inference.Constraints;
using TokenGrid.Inference.Tests.Constraints.Corpus;

namespace TokenGrid.Benchmarks.Structured;

/// <summary>
/// Times <see cref="JsonGrammar.Compile"/> over the real schema corpus (tests/TokenGrid.Inference.Tests, schemas.txt,
/// loaded as the corpus tests load it). The grammar cache is keyed by the text's SHA-256, so each pass gives every
/// schema a fresh <c>$comment</c> (an annotation the compiler ignores): every call compiles, none is a cache hit.
/// </summary>
internal sealed class CompileTiming
{
    private readonly List<(string Id, JsonNode Schema)> _schemas;

    private CompileTiming(List<(string Id, JsonNode Schema)> schemas) => _schemas = schemas;

    public int Count => _schemas.Count;

    /// <summary>Schemas the last pass compiled.</summary>
    public int Compiled { get; private set; }

    /// <summary>Schemas the last pass refused (a keyword the compiler cannot enforce).</summary>
    public int Refused { get; private set; }

    /// <summary>The corpus, or null (with the reason in <paramref name="missing"/>) without the reference tools.</summary>
    public static CompileTiming? Load(out string? missing)
    {
        try
        {
            var schemas = SchemaCorpus.Sample().Select(id => (id, SchemaCorpus.Load(id))).ToList();
            missing = null;
            return new CompileTiming(schemas);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException)
        {
            missing = e.Message;
            return null;
        }
    }

    /// <summary>
    /// Compiles every schema once, tagged <paramref name="tag"/>, adding each compiled schema's time in milliseconds
    /// to <paramref name="millis"/> (refusals are counted, not timed).
    /// </summary>
    public void Pass(string tag, List<double> millis)
    {
        var texts = _schemas.Select(s =>
        {
            var copy = s.Schema.DeepClone();
            copy["$comment"] = $"structured benchmark {tag}";
            return copy.ToJsonString();
        }).ToList();
        var (compiled, refused) = (0, 0);
        foreach (var text in texts)
        {
            var start = Stopwatch.GetTimestamp();
            try
            {
                JsonGrammar.Compile(text);
            }
            catch (ConstraintException)
            {
                refused++;
                continue;
            }

            millis.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            compiled++;
        }

        (Compiled, Refused) = (compiled, refused);
    }
}
