namespace TokenGrid.Inference.Tools;

/// <summary>
/// One step of a streamed answer, shaped as OpenAI's chat completion chunks are: content text, the start of a call
/// (its index and name), or a piece of a call's arguments. The arguments pieces of one index, concatenated, are that
/// call's <see cref="ParsedToolCall.ArgumentsJson"/>.
/// </summary>
public abstract record ToolCallDelta
{
    private protected ToolCallDelta()
    {
    }
}

/// <summary>Content text for the client.</summary>
/// <param name="Text">The text, never empty.</param>
public sealed record ContentDelta(string Text) : ToolCallDelta;

/// <summary>A call begins: the first chunk of <c>tool_calls[Index]</c>, which carries the function's name.</summary>
/// <param name="Index">The call's position among the answer's calls, from 0.</param>
/// <param name="Name">The function's name.</param>
public sealed record ToolCallStartDelta(int Index, string Name) : ToolCallDelta;

/// <summary>A piece of the arguments of <c>tool_calls[Index]</c>, always after its <see cref="ToolCallStartDelta"/>.</summary>
/// <param name="Index">The call's position among the answer's calls, from 0.</param>
/// <param name="Fragment">Text to append to the call's arguments JSON.</param>
public sealed record ToolCallArgumentsDelta(int Index, string Fragment) : ToolCallDelta;
