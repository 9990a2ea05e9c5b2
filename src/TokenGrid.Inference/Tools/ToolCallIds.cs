using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Tools;

/// <summary>
/// Ids of tool calls in the shape the model's own chat template accepts. Mistral's templates refuse every id that is
/// not 9 characters long ("Tool call IDs should be alphanumeric strings with length 9!"), so for
/// <see cref="ToolCallSyntax.Mistral"/> an id is 9 letters and digits, as vLLM's Mistral tool parser makes them; every
/// other syntax gets OpenAI's shape, <c>call_</c> and 24 letters and digits.
/// </summary>
public static class ToolCallIds
{
    /// <summary>The length of a Mistral tool-call id.</summary>
    public const int MistralLength = 9;

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A new random id for a call of a model whose template shows <paramref name="syntax"/>.</summary>
    public static string New(ToolCallSyntax syntax) => syntax == ToolCallSyntax.Mistral
        ? RandomNumberGenerator.GetString(Alphabet, MistralLength)
        : "call_" + RandomNumberGenerator.GetString(Alphabet, 24);

    /// <summary>
    /// <paramref name="id"/> as the template of <paramref name="syntax"/> accepts it. Only Mistral's needs a change: an
    /// id of 9 letters and digits stays; a longer one whose last 9 characters are letters and digits becomes those (as
    /// vLLM's <c>truncate_tool_call_ids</c> does, so <c>call_…</c> ids of other providers work); any other becomes 9
    /// letters and digits derived from its SHA-256. The mapping depends on the id alone, so an assistant's
    /// <c>tool_calls[].id</c> and the <c>tool_call_id</c> of the tool message answering it stay equal.
    /// </summary>
    public static string ForTemplate(string id, ToolCallSyntax syntax)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (syntax != ToolCallSyntax.Mistral || (id.Length == MistralLength && IsAlphanumeric(id)))
        {
            return id;
        }

        if (id.Length > MistralLength && IsAlphanumeric(id[^MistralLength..]))
        {
            return id[^MistralLength..];
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(id));
        return string.Create(MistralLength, hash, static (chars, bytes) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = Alphabet[bytes[i] % Alphabet.Length];
            }
        });
    }

    /// <summary>
    /// A copy of chat message <paramref name="message"/> whose <c>tool_calls[].id</c> and <c>tool_call_id</c> are
    /// mapped by <see cref="ForTemplate(string, ToolCallSyntax)"/>; the message itself when nothing changes.
    /// </summary>
    public static JsonNode ForTemplate(JsonNode message, ToolCallSyntax syntax)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (syntax != ToolCallSyntax.Mistral || message is not JsonObject)
        {
            return message;
        }

        var copy = message.DeepClone();
        if (copy["tool_call_id"] is JsonValue callId && callId.TryGetValue<string>(out var answered))
        {
            copy["tool_call_id"] = ForTemplate(answered, syntax);
        }

        foreach (var call in copy["tool_calls"] as JsonArray ?? [])
        {
            if (call is JsonObject o && o["id"] is JsonValue value && value.TryGetValue<string>(out var id))
            {
                o["id"] = ForTemplate(id, syntax);
            }
        }

        return copy;
    }

    private static bool IsAlphanumeric(string text) => text.All(char.IsAsciiLetterOrDigit);
}
