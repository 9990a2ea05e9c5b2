using TokenGrid.Inference.Tools;

namespace TokenGrid.Grains.Catalog;

/// <summary>
/// Reads tool calls out of a model's output, whole or as it streams, in the syntax of the model's chat template (see
/// <see cref="ToolCallStream"/>): content text is released as soon as it cannot be the start of a call; each call comes
/// once whole, as a start (its name) and its arguments. One reader per output; not thread-safe.
/// </summary>
public sealed class ToolCallReader
{
    private readonly ToolCallStream _stream;
    private readonly ToolCallSyntax _template;

    /// <param name="syntax">How the output writes calls (plain JSON under a forced call).</param>
    /// <param name="template">The syntax of the model's chat template, which decides the shape of call ids.</param>
    internal ToolCallReader(ToolCallSyntax syntax, ToolCallSyntax template)
    {
        _stream = new ToolCallStream(syntax);
        _template = template;
    }

    /// <summary>
    /// A new id for a call read from this output, in the shape the model's own template accepts when the call comes
    /// back in the history (see <see cref="ToolCallIds"/>: 9 letters and digits for Mistral, else <c>call_…</c>).
    /// </summary>
    public string NewCallId() => ToolCallIds.New(_template);

    /// <summary>Takes the next piece of output; returns what it releases.</summary>
    public IReadOnlyList<ToolCallPiece> Push(string text) => Map(_stream.Push(text));

    /// <summary>The output has ended: returns what is still held.</summary>
    public IReadOnlyList<ToolCallPiece> Finish() => Map(_stream.Finish());

    private static List<ToolCallPiece> Map(IReadOnlyList<ToolCallDelta> deltas) =>
        [.. deltas.Select(d => d switch
        {
            ContentDelta c => new ToolCallPiece(null, c.Text, null),
            ToolCallStartDelta s => new ToolCallPiece(s.Index, null, s.Name),
            ToolCallArgumentsDelta a => new ToolCallPiece(a.Index, a.Fragment, null),
            _ => throw new InvalidOperationException($"Unknown tool call delta {d.GetType().Name}."),
        })];
}

/// <summary>
/// One piece of output read for tool calls: content text (<see cref="Call"/> null), the start of call
/// <see cref="Call"/> (<see cref="Name"/> set) or a fragment of its arguments (<see cref="Text"/> set).
/// </summary>
/// <param name="Call">The call's index, from 0; null for content.</param>
/// <param name="Text">Content text, or a fragment of the call's arguments (a JSON object as text).</param>
/// <param name="Name">The function's name, on a call's start.</param>
public sealed record ToolCallPiece(int? Call, string? Text, string? Name);
