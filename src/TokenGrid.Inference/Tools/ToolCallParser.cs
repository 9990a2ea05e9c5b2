using System.Text;

namespace TokenGrid.Inference.Tools;

/// <summary>One call the model made, as OpenAI's <c>tool_calls[i].function</c> carries it.</summary>
/// <param name="Name">The function's name.</param>
/// <param name="ArgumentsJson">The arguments: a JSON object as compact text, non-ASCII characters kept as they are.</param>
public sealed record ParsedToolCall(string Name, string ArgumentsJson);

/// <summary>A finished output split into content text and calls.</summary>
/// <param name="Content">The text outside the calls (see <see cref="ToolCallStream"/> for the white space rule), or null when there is none.</param>
/// <param name="Calls">The calls, in order; empty when the output made none.</param>
public sealed record ToolCallParse(string? Content, IReadOnlyList<ParsedToolCall> Calls);

/// <summary>Splits a model's finished output into content and tool calls.</summary>
public static class ToolCallParser
{
    /// <summary>
    /// The content and calls of <paramref name="output"/> in <paramref name="syntax"/>. Never throws on the text: what
    /// is not a valid call is content. The result is exactly what a <see cref="ToolCallStream"/> gives for the same
    /// text in any number of pieces (this method is that stream fed once).
    /// </summary>
    public static ToolCallParse Parse(ToolCallSyntax syntax, string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var stream = new ToolCallStream(syntax);
        return Collect([.. stream.Push(output), .. stream.Finish()]);
    }

    /// <summary>Folds deltas into the content and calls they describe.</summary>
    /// <exception cref="ArgumentException">Arguments for a call that has not started, or calls out of order.</exception>
    public static ToolCallParse Collect(IEnumerable<ToolCallDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        var content = new StringBuilder();
        var names = new List<string>();
        var arguments = new List<StringBuilder>();
        foreach (var delta in deltas)
        {
            switch (delta)
            {
                case ContentDelta c:
                    content.Append(c.Text);
                    break;
                case ToolCallStartDelta s when s.Index == names.Count:
                    names.Add(s.Name);
                    arguments.Add(new StringBuilder());
                    break;
                case ToolCallArgumentsDelta a when a.Index >= 0 && a.Index < names.Count:
                    arguments[a.Index].Append(a.Fragment);
                    break;
                default:
                    throw new ArgumentException($"A delta out of order: {delta}.", nameof(deltas));
            }
        }

        var calls = names.Select((name, i) => new ParsedToolCall(name, arguments[i].ToString())).ToList();
        return new ToolCallParse(content.Length > 0 ? content.ToString() : null, calls);
    }
}
