using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// A JSON schema compiled for constrained decoding, independent of any vocabulary. Compiled once per distinct schema
/// text (cached by its SHA-256) and shared by every sequence and model that uses it.
/// </summary>
public sealed class JsonGrammar
{
    /// <summary>Most compiled schemas kept.</summary>
    public const int CacheSize = 512;

    /// <summary>Longest schema text accepted, in characters.</summary>
    public const int MaxSchemaLength = 1_000_000;

    private static readonly ConcurrentDictionary<string, JsonGrammar> s_cache = new(StringComparer.Ordinal);

    private JsonGrammar(SchemaNode root, string hash)
    {
        Root = root;
        Hash = hash;
        Patterns = PatternsOf(root);
    }

    /// <summary>The schema of OpenAI's <c>{"type": "json_object"}</c>: any JSON object.</summary>
    public const string AnyObjectSchema = """{"type": "object", "additionalProperties": true}""";

    /// <summary>OpenAI's <c>{"type": "json_object"}</c>: any JSON object.</summary>
    public static JsonGrammar AnyObject { get; } = Compile(AnyObjectSchema);

    /// <summary>Bytes of the shortest value of the schema (whitespace aside): a sequence needs at least as many tokens.</summary>
    public int ShortestValueBytes => Root.MinBytes;

    /// <summary>The hex SHA-256 of the schema text.</summary>
    public string Hash { get; }

    /// <summary>The compiled root.</summary>
    internal SchemaNode Root { get; }

    /// <summary>The automata of the schema's string patterns and formats, each once.</summary>
    internal IReadOnlyList<PatternAutomaton> Patterns { get; }

    private static PatternAutomaton[] PatternsOf(SchemaNode root)
    {
        var found = new List<PatternAutomaton>();
        var seen = new HashSet<SchemaNode>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<SchemaNode>([root]);
        while (pending.TryPop(out var node))
        {
            if (!seen.Add(node))
            {
                continue;
            }

            switch (node)
            {
                case StringNode { Pattern: { } pattern } when !found.Contains(pattern):
                    found.Add(pattern);
                    break;
                case RefNode { Target: { } target }:
                    pending.Push(target);
                    break;
                case AnyOfNode any:
                    any.Options.ToList().ForEach(pending.Push);
                    break;
                case ArrayNode array:
                    array.Prefix.ToList().ForEach(pending.Push);
                    if (array.Items is { } items)
                    {
                        pending.Push(items);
                    }

                    break;
                case ObjectNode o:
                    o.Properties.Select(p => p.Value).ToList().ForEach(pending.Push);
                    if (o.Additional is { } additional)
                    {
                        pending.Push(additional);
                    }

                    break;
            }
        }

        return [.. found];
    }

    /// <summary>
    /// Compiles <paramref name="schema"/> (JSON text), or returns the cached grammar of the same text. Throws
    /// <see cref="ConstraintException"/> when the schema cannot be enforced (the exception names the keyword).
    /// </summary>
    public static JsonGrammar Compile(string schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (schema.Length > MaxSchemaLength)
        {
            throw new ConstraintException("schema", $"The schema is longer than {MaxSchemaLength} characters.");
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schema)));
        if (s_cache.TryGetValue(hash, out var cached))
        {
            return cached;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(schema, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new ConstraintException("schema", $"The schema is not valid JSON: {e.Message}");
        }

        using (document)
        {
            SchemaNode root;
            try
            {
                root = JsonSchemaCompiler.Compile(document.RootElement);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or ArgumentException)
            {
                // A keyword holding a value of the wrong kind (a number where names go, an object where a list goes).
                throw new ConstraintException("schema", $"The schema is malformed: {e.Message}");
            }

            var grammar = new JsonGrammar(root, hash);
            if (s_cache.Count >= CacheSize)
            {
                s_cache.Clear();
            }

            return s_cache.GetOrAdd(hash, grammar);
        }
    }
}
