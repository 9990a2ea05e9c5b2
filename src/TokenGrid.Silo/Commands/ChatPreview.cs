using TokenGrid.Inference.Models;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Silo.Commands;

/// <summary>A conversation given to <c>models check</c> that cannot be rendered, with the reason.</summary>
internal sealed class ChatPreviewException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The part of <c>models check</c> that shows the chat template: which template, and a sample conversation (or the
/// one in <c>--conversation FILE</c>, OpenAI <c>messages</c> JSON) rendered to the exact prompt text and its ids.
/// </summary>
internal static class ChatPreview
{
    private static readonly ChatMessage[] s_sample =
    [
        new("system", "You are a helpful assistant."),
        new("user", "What is a token office?"),
        new("assistant", "A place that meters tokens."),
        new("user", "And who reads its ledger?"),
    ];

    /// <summary>Writes the template and the rendered prompt; returns the prompt's ids for the smoke run.</summary>
    public static int[] Write(TextWriter output, DecoderModel model, string? conversationFile)
    {
        var template = model.Tokenizer.ChatTemplate;
        var messages = conversationFile is null ? s_sample : Read(conversationFile);
        var prompt = template.Render(messages);
        var ids = model.Tokenizer.Encode(prompt);
        output.WriteLine();
        output.WriteLine($"chat template: {template.Name} (built-in fallback; stops: {string.Join(", ", template.StopSequences.Select(ModelsCommand.Quote))})");
        output.WriteLine($"conversation: {(conversationFile is null ? "sample" : conversationFile)}, {messages.Count} messages");
        output.WriteLine($"prompt ({ids.Length} tokens):");
        output.WriteLine(prompt);
        output.WriteLine($"ids: [{string.Join(", ", ids)}]");
        return ids;
    }

    private static IReadOnlyList<ChatMessage> Read(string file)
    {
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
            var root = json.RootElement;
            var messages = root.ValueKind == System.Text.Json.JsonValueKind.Object && root.TryGetProperty("messages", out var m) ? m : root;
            return [.. messages.EnumerateArray().Select(e => new ChatMessage(e.GetProperty("role").GetString()!, e.TryGetProperty("content", out var c) ? c.GetString() ?? "" : ""))];
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new ChatPreviewException($"{file} is not an OpenAI messages array (or an object with \"messages\"): {e.Message}", e);
        }
    }
}
