using System.Text;

namespace TokenGrid.Inference.Tokenizers;

/// <summary>One chat message: a role (<c>system</c>, <c>user</c>, <c>assistant</c>, …) and its text.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// Turns chat messages into one prompt. Two templates are built in: ChatML (used when the tokenizer has the
/// <c>&lt;|im_start|&gt;</c> and <c>&lt;|im_end|&gt;</c> special tokens) and a plain fallback for every
/// other model, which writes each message as <c>role: content</c> on its own line and ends with
/// <c>assistant:</c>. Each template names the stop sequences that end the assistant's turn.
/// </summary>
public sealed class ChatTemplate
{
    private readonly Func<IReadOnlyList<ChatMessage>, string> _render;

    private ChatTemplate(string name, Func<IReadOnlyList<ChatMessage>, string> render, IReadOnlyList<string> stopSequences)
    {
        Name = name;
        _render = render;
        StopSequences = stopSequences;
    }

    /// <summary>The plain fallback: <c>role: content</c> lines, then <c>assistant:</c>.</summary>
    public static ChatTemplate Plain { get; } = new("plain", RenderPlain, ["\nuser:", "\nsystem:"]);

    /// <summary>ChatML: <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;</c> per message.</summary>
    public static ChatTemplate ChatMl { get; } = new("chatml", RenderChatMl, ["<|im_end|>"]);

    /// <summary>The template's name (<c>plain</c> or <c>chatml</c>).</summary>
    public string Name { get; }

    /// <summary>Text that ends the assistant's reply under this template.</summary>
    public IReadOnlyList<string> StopSequences { get; }

    /// <summary>Picks the template a tokenizer with these special tokens was trained for.</summary>
    public static ChatTemplate For(IReadOnlyDictionary<string, int> specialTokens) =>
        specialTokens.ContainsKey("<|im_start|>") && specialTokens.ContainsKey("<|im_end|>") ? ChatMl : Plain;

    /// <summary>Renders <paramref name="messages"/> into a prompt that asks for the assistant's next turn.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return _render(messages);
    }

    private static string RenderPlain(IReadOnlyList<ChatMessage> messages)
    {
        var text = new StringBuilder();
        foreach (var message in messages)
        {
            text.Append(message.Role).Append(": ").Append(message.Content).Append('\n');
        }

        return text.Append("assistant:").ToString();
    }

    private static string RenderChatMl(IReadOnlyList<ChatMessage> messages)
    {
        var text = new StringBuilder();
        foreach (var message in messages)
        {
            text.Append("<|im_start|>").Append(message.Role).Append('\n').Append(message.Content).Append("<|im_end|>\n");
        }

        return text.Append("<|im_start|>assistant\n").ToString();
    }
}
