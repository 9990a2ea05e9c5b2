using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// Chunks of a streamed text completion (<c>object: "text_completion"</c>). With <paramref name="echo"/> the first chunk
/// carries the prompt; with <paramref name="logprobs"/> each chunk carries its tokens' legacy log probabilities, whose
/// text offsets continue from chunk to chunk.
/// </summary>
internal sealed class TextCompletionChunks(
    string id, long created, string model, string? fingerprint, LogprobFormat? logprobs = null, string? echo = null, int index = 0) : IChunkFormat
{
    private readonly TextOffsets _offsets = new();

    public IReadOnlyList<object> Opening(Usage? usage) =>
        string.IsNullOrEmpty(echo) ? [] : [Chunk([new TextChoice(echo, index, null)], usage)];

    public IReadOnlyList<object> Text(string text, IReadOnlyList<TokenLogprob>? tokens, Usage? usage)
    {
        var details = logprobs is not null && tokens is not null ? logprobs.Legacy(tokens, _offsets) : null;
        return [Chunk([new TextChoice(text, index, null, details)], usage)];
    }

    public IReadOnlyList<object> Finish(string finishReason, Usage? usage) => [Chunk([new TextChoice("", index, finishReason)], usage)];

    public object Usage(Usage usage) => Chunk([], usage);

    private TextCompletion Chunk(IReadOnlyList<TextChoice> choices, Usage? usage) =>
        new(id, created, model, choices, usage) { SystemFingerprint = fingerprint };
}

/// <summary>
/// Chunks of a streamed chat completion (<c>object: "chat.completion.chunk"</c>); the first names the role. With
/// <paramref name="logprobs"/> each chunk carries <c>logprobs.content</c> for its tokens. With <paramref name="tools"/>
/// the text is read for tool calls, which go out as <c>tool_calls</c> deltas as OpenAI streams them (a call's id, type
/// and name first, then its arguments), and a reply that called a tool finishes with <c>tool_calls</c>.
/// </summary>
internal sealed class ChatCompletionChunks(
    string id, long created, string model, string? fingerprint, LogprobFormat? logprobs = null, int index = 0, ToolCallReader? tools = null) : IChunkFormat
{
    private readonly ToolCallDeltas? _calls = tools is null ? null : new ToolCallDeltas(tools);

    public IReadOnlyList<object> Opening(Usage? usage) => [Chunk(new ChatDelta("assistant", ""), null, null, usage)];

    public IReadOnlyList<object> Text(string text, IReadOnlyList<TokenLogprob>? tokens, Usage? usage) =>
        Chunks(_calls?.Push(text) ?? new ChatDelta(null, text), null, logprobs is not null && tokens is not null ? logprobs.Chat(tokens) : null, usage);

    public IReadOnlyList<object> Finish(string finishReason, Usage? usage) => _calls is null
        ? Chunks(new ChatDelta(null, null), finishReason, null, usage)
        : Chunks(_calls.Finish(), _calls.Called && finishReason == "stop" ? "tool_calls" : finishReason, null, usage);

    public object Usage(Usage usage) => new ChatCompletionChunk(id, created, model, [], usage) { SystemFingerprint = fingerprint };

    /// <summary>
    /// The delta as chunks: one, or one per tool-call entry (a call's id, type and name, then each piece of its
    /// arguments), as OpenAI streams them; a client's stream helper applies a chunk's entries at once and would announce
    /// a call's arguments done before their deltas. Content and log probabilities go with the first chunk, the finish
    /// reason with the last, and every chunk carries the usage as one chunk would.
    /// </summary>
    private IReadOnlyList<object> Chunks(ChatDelta delta, string? finishReason, ChatLogprobs? details, Usage? usage)
    {
        if (delta.ToolCalls is not { Count: > 1 } calls)
        {
            return [Chunk(delta, finishReason, details, usage)];
        }

        var chunks = new List<object>(calls.Count);
        for (var i = 0; i < calls.Count; i++)
        {
            var last = i == calls.Count - 1;
            chunks.Add(Chunk(
                new ChatDelta(null, i == 0 ? delta.Content : null, [calls[i]]), last ? finishReason : null, i == 0 ? details : null, usage));
        }

        return chunks;
    }

    private ChatCompletionChunk Chunk(ChatDelta delta, string? finishReason, ChatLogprobs? details, Usage? usage) =>
        new(id, created, model, [new ChatChunkChoice(index, delta, finishReason, details)], usage) { SystemFingerprint = fingerprint };
}
