using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// Checks the text of a JSON body before it is deserialized: the bytes must be UTF-8 (400 <c>invalid_json</c> naming
/// the offset of the first bad byte: overlong forms, encoded surrogates and truncated sequences included), and no
/// string may hold an unpaired surrogate escape such as <c>"\ud800"</c> (400 <c>invalid_value</c> naming the field).
/// </summary>
/// <remarks>
/// Unpaired surrogates are refused rather than replaced by U+FFFD: a replacement would change the prompt silently,
/// and System.Text.Json already refuses them in fields it reads as strings, so every field now behaves the same. The
/// escaped NUL (<c>"\u0000"</c>) is valid Unicode and accepted: prompts and other request text reach PostgreSQL only
/// inside Orleans' binary state (<c>bytea</c>), never in a text column.
/// </remarks>
internal static class JsonText
{
    /// <summary>Throws the problem for the first fault of <paramref name="body"/>; a body that is not JSON is left to the serializer.</summary>
    public static void Check(ReadOnlySpan<byte> body)
    {
        if (!Utf8.IsValid(body))
        {
            throw new ApiProblemException(ApiProblems.InvalidJson(NotUtf8(body)));
        }

        if (FirstUnpairedSurrogate(body) is { } field)
        {
            var where = field.Length == 0 ? "The request body" : $"The text of '{field}'";
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"{where} holds an unpaired UTF-16 surrogate escape (such as \\ud800 without its low half): send valid Unicode text.",
                "invalid_value", field.Length == 0 ? null : field));
        }
    }

    private static string NotUtf8(ReadOnlySpan<byte> body)
    {
        var offset = 0;
        while (Rune.DecodeFromUtf8(body[offset..], out _, out var consumed) == OperationStatus.Done)
        {
            offset += consumed;
        }

        return Rune.DecodeFromUtf8(body[offset..], out _, out _) == OperationStatus.NeedMoreData
            ? $"The request body is not valid UTF-8: it ends inside a multi-byte sequence that starts at byte offset {offset}."
            : $"The request body is not valid UTF-8: the byte at offset {offset} (0x{body[offset]:X2}) does not start a valid sequence.";
    }

    /// <summary>
    /// The path (<c>messages[0].content</c>; empty for the root value) of the first string holding an unpaired surrogate
    /// escape, or null when there is none or the body stops being JSON first.
    /// </summary>
    private static string? FirstUnpairedSurrogate(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { AllowMultipleValues = false });
        var path = new List<Frame>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        if (!TryGetString(ref reader, out var name))
                        {
                            path[^1] = path[^1] with { Name = null };
                            return Format(path);
                        }

                        path[^1] = path[^1] with { Name = name };
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        NextElement(path);
                        path.Add(new Frame(reader.TokenType == JsonTokenType.StartArray, -1, null));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        path.RemoveAt(path.Count - 1);
                        break;
                    default:
                        NextElement(path);
                        if (reader.TokenType == JsonTokenType.String && !TryGetString(ref reader, out _))
                        {
                            return Format(path);
                        }

                        break;
                }
            }
        }
        catch (JsonException)
        {
            // Malformed or too deep: the serializer reports it with its own position.
            return null;
        }

        return null;
    }

    private static bool TryGetString(ref Utf8JsonReader reader, out string? value)
    {
        value = null;
        if (!reader.ValueIsEscaped)
        {
            // Unescaped text is the (valid) UTF-8 of the body itself; only property names are wanted for the path.
            value = reader.TokenType == JsonTokenType.PropertyName ? reader.GetString() : null;
            return true;
        }

        try
        {
            value = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void NextElement(List<Frame> path)
    {
        if (path.Count > 0 && path[^1].IsArray)
        {
            path[^1] = path[^1] with { Index = path[^1].Index + 1 };
        }
    }

    private static string Format(List<Frame> path)
    {
        var text = new StringBuilder();
        foreach (var frame in path)
        {
            if (frame.IsArray)
            {
                text.Append('[').Append(frame.Index).Append(']');
            }
            else if (frame.Name is not null)
            {
                text.Append(text.Length == 0 ? "" : ".").Append(frame.Name);
            }
        }

        return text.ToString();
    }

    /// <summary>One open object or array: an array's current index, an object's current property.</summary>
    private readonly record struct Frame(bool IsArray, int Index, string? Name);
}
