using System.Text;
using TokenGrid.Grains.Catalog;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// Turns a streamed reply's text into chat deltas: content as content, tool calls as OpenAI's <c>tool_calls</c> deltas
/// (each call's first piece has its id, <c>function</c> type and name; its arguments follow).
/// </summary>
internal sealed class ToolCallDeltas(ToolCallReader reader)
{
    private readonly Dictionary<int, string> _ids = [];

    /// <summary>True once a call has started.</summary>
    public bool Called => _ids.Count > 0;

    /// <summary>The delta for the next piece of text.</summary>
    public ChatDelta Push(string text) => Delta(reader.Push(text));

    /// <summary>The delta for what the reader still held at the end.</summary>
    public ChatDelta Finish() => Delta(reader.Finish());

    private ChatDelta Delta(IReadOnlyList<ToolCallPiece> pieces)
    {
        var content = new StringBuilder();
        var calls = new List<ChatToolCallDelta>();
        foreach (var piece in pieces)
        {
            if (piece.Call is not { } call)
            {
                content.Append(piece.Text);
            }
            else if (piece.Name is { } name)
            {
                var id = _ids[call] = reader.NewCallId();
                calls.Add(new ChatToolCallDelta(call, id, "function", new ChatFunctionDelta(name, "")));
            }
            else
            {
                calls.Add(new ChatToolCallDelta(call, null, null, new ChatFunctionDelta(null, piece.Text)));
            }
        }

        return new ChatDelta(null, content.Length > 0 || calls.Count == 0 ? content.ToString() : null, calls.Count > 0 ? calls : null);
    }
}

/// <summary>Reads a whole reply for tool calls (non-streamed responses).</summary>
internal static class ToolCallMessages
{
    /// <summary>The assistant's message and finish reason for <paramref name="output"/>: with its tool calls when it made any.</summary>
    public static (ChatMessageResponse Message, string FinishReason) Read(ToolCallReader? reader, string output, string finishReason)
    {
        if (reader is null)
        {
            return (new ChatMessageResponse("assistant", output), finishReason);
        }

        var content = new StringBuilder();
        var names = new Dictionary<int, string>();
        var arguments = new Dictionary<int, StringBuilder>();
        foreach (var piece in reader.Push(output).Concat(reader.Finish()))
        {
            if (piece.Call is not { } call)
            {
                content.Append(piece.Text);
            }
            else if (piece.Name is { } name)
            {
                names[call] = name;
                arguments[call] = new StringBuilder();
            }
            else
            {
                arguments[call].Append(piece.Text);
            }
        }

        if (names.Count == 0)
        {
            return (new ChatMessageResponse("assistant", content.ToString()), finishReason);
        }

        var calls = names.OrderBy(n => n.Key).Select(n => new ChatToolCall(reader.NewCallId(), new ChatFunctionCall(n.Value, arguments[n.Key].ToString()))).ToList();
        return (new ChatMessageResponse("assistant", content.Length > 0 ? content.ToString() : null, calls), finishReason == "stop" ? "tool_calls" : finishReason);
    }
}
