using System.Text;
using System.Text.Json.Nodes;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>Reads server-sent events from a response stream, one event at a time.</summary>
public sealed class SseReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    /// <summary>The last <c>id:</c> the stream sent (as a browser keeps it for <c>Last-Event-ID</c>), or null before any.</summary>
    public string? LastEventId { get; private set; }

    /// <summary>The next event's name and data, or null at the end of the stream.</summary>
    public async Task<(string? Event, string Data)?> ReadAsync()
    {
        string? name = null;
        var data = new StringBuilder();
        while (await _reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    return (name, data.ToString());
                }

                continue;
            }

            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                LastEventId = line["id: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(line["data: ".Length..]);
            }
        }

        return null;
    }

    /// <summary>The next event's data as JSON, or null at the end of the stream or at <c>[DONE]</c>.</summary>
    public async Task<JsonObject?> ReadJsonAsync()
    {
        var next = await ReadAsync();
        return next is null || next.Value.Data == "[DONE]" ? null : JsonNode.Parse(next.Value.Data)!.AsObject();
    }

    public void Dispose() => _reader.Dispose();
}
