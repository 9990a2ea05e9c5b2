using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Templates;

namespace TokenGrid.Silo.Commands;

/// <summary>A conversation given to <c>models check</c> that cannot be rendered, with the reason.</summary>
internal sealed class ChatPreviewException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The part of <c>models check</c> that shows the chat format: the model's own template or the fallback, and a sample
/// conversation (or the one in <c>--conversation FILE</c>: OpenAI <c>messages</c> JSON, or an object with
/// <c>messages</c> and optionally <c>tools</c>) rendered to the exact prompt text and its ids, as the silo renders it.
/// </summary>
internal static class ChatPreview
{
    private const string Sample = """
        {"messages": [
          {"role": "system", "content": "You are a helpful assistant."},
          {"role": "user", "content": "What is a token office?"},
          {"role": "assistant", "content": "A place that meters tokens."},
          {"role": "user", "content": "And who reads its ledger?"}
        ]}
        """;

    /// <summary>Writes the format and the rendered prompt; returns the prompt's ids for the smoke run.</summary>
    public static int[] Write(TextWriter output, DecoderModel model, string? conversationFile)
    {
        ModelChatFormat chat;
        try
        {
            chat = ModelChatFormat.Load(model.Config.Directory, model.Tokenizer);
        }
        catch (InvalidModelException e)
        {
            throw new ChatPreviewException(e.Message, e);
        }

        var (messages, tools) = Read(conversationFile);
        ChatPrompt prompt;
        try
        {
            prompt = chat.Render(messages, tools);
        }
        catch (ChatPromptException e)
        {
            throw new ChatPreviewException($"the conversation cannot be rendered: {e.Message}", e);
        }

        output.WriteLine();
        output.WriteLine($"chat format: {chat.Description}");
        if (chat.StopSequences.Count > 0)
        {
            output.WriteLine($"  stops:     {string.Join(", ", chat.StopSequences.Select(ModelsCommand.Quote))}");
        }

        output.WriteLine($"conversation: {conversationFile ?? "sample"}, {messages.Count} messages{(tools is null ? "" : $", {tools.Count} tools")}");
        output.WriteLine($"prompt ({prompt.Ids.Length} tokens):");
        output.WriteLine(prompt.Text);
        output.WriteLine($"ids: [{string.Join(", ", prompt.Ids)}]");
        return prompt.Ids;
    }

    private static (List<JsonNode> Messages, List<JsonNode>? Tools) Read(string? file)
    {
        try
        {
            var root = JsonNode.Parse(file is null ? Sample : File.ReadAllText(file));
            var messages = (root is JsonObject o ? o["messages"] : root) as JsonArray
                ?? throw new ChatPreviewException($"{file} holds neither a messages array nor an object with \"messages\".");
            var tools = (root as JsonObject)?["tools"] as JsonArray;
            return ([.. messages.Select(m => m ?? throw new ChatPreviewException($"{file}: a message is null."))],
                tools is null ? null : [.. tools.Select(t => t!)]);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            throw new ChatPreviewException($"{file} cannot be read: {e.Message}", e);
        }
    }
}
