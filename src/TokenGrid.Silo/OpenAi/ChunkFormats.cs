using TokenGrid.Silo.Generation;

namespace TokenGrid.Silo.OpenAi;

/// <summary>Chunks of a streamed text completion (<c>object: "text_completion"</c>).</summary>
internal sealed class TextCompletionChunks(string id, long created, string model) : IChunkFormat
{
    public object? Opening() => null;

    public object Text(string text) => new TextCompletion(id, created, model, [new TextChoice(text, 0, null)], null);

    public object Finish(string finishReason) => new TextCompletion(id, created, model, [new TextChoice("", 0, finishReason)], null);

    public object Usage(Usage usage) => new TextCompletion(id, created, model, [], usage);
}

/// <summary>Chunks of a streamed chat completion (<c>object: "chat.completion.chunk"</c>); the first names the role.</summary>
internal sealed class ChatCompletionChunks(string id, long created, string model) : IChunkFormat
{
    public object? Opening() => Chunk(new ChatDelta("assistant", ""), null);

    public object Text(string text) => Chunk(new ChatDelta(null, text), null);

    public object Finish(string finishReason) => Chunk(new ChatDelta(null, null), finishReason);

    public object Usage(Usage usage) => new ChatCompletionChunk(id, created, model, [], usage);

    private ChatCompletionChunk Chunk(ChatDelta delta, string? finishReason) =>
        new(id, created, model, [new ChatChunkChoice(0, delta, finishReason)], null);
}
