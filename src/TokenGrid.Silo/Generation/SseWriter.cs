using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace TokenGrid.Silo.Generation;

/// <summary>
/// Writes server-sent events (<c>data: {json}</c> blocks) straight into the response's pipe as UTF-8, with no
/// intermediate strings: at thousands of tokens per second each token is one event. <see cref="WriteAsync{T}"/> flushes
/// each event so clients see tokens as they come; <see cref="Append{T}"/> and <see cref="FlushAsync"/> let a caller
/// holding several events at once send them with one flush.
/// </summary>
internal sealed class SseWriter
{
    private readonly HttpResponse _response;
    private readonly JsonSerializerOptions _json;
    private readonly Utf8JsonWriter _writer;

    private SseWriter(HttpResponse response, JsonSerializerOptions json)
    {
        _response = response;
        _json = json;
        // The same output as JsonSerializer.Serialize(value, json) gives as a string.
        _writer = new Utf8JsonWriter(response.BodyWriter, new JsonWriterOptions
        {
            Encoder = json.Encoder,
            Indented = json.WriteIndented,
            IndentCharacter = json.IndentCharacter,
            IndentSize = json.IndentSize,
            NewLine = json.NewLine,
            MaxDepth = json.MaxDepth,
        });
    }

    /// <summary>Starts the event stream: status 200, <c>text/event-stream</c>, no buffering.</summary>
    public static async Task<SseWriter> StartAsync(HttpContext http)
    {
        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(http.RequestAborted);
        return new SseWriter(response, http.RequestServices.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions);
    }

    /// <summary>Writes <paramref name="value"/> as JSON in one event, with an optional id and event name, and flushes it.</summary>
    public Task WriteAsync<T>(T value, long? id = null, string? eventName = null, CancellationToken cancellationToken = default)
    {
        Append(value, id, eventName);
        return FlushAsync(cancellationToken);
    }

    /// <summary>Writes OpenAI's end-of-stream marker, <c>data: [DONE]</c>, and flushes it.</summary>
    public Task WriteDoneAsync(CancellationToken cancellationToken = default)
    {
        _response.BodyWriter.Write("data: [DONE]\n\n"u8);
        return FlushAsync(cancellationToken);
    }

    /// <summary>Buffers <paramref name="value"/> as one event without sending it; <see cref="FlushAsync"/> sends what is buffered.</summary>
    public void Append<T>(T value, long? id = null, string? eventName = null)
    {
        var body = _response.BodyWriter;
        if (id is { } eventId)
        {
            body.Write("id: "u8);
            var span = body.GetSpan(20);
            Utf8Formatter.TryFormat(eventId, span, out var written);
            body.Advance(written);
            body.Write("\n"u8);
        }

        if (eventName is not null)
        {
            body.Write("event: "u8);
            Encoding.UTF8.GetBytes(eventName, body);
            body.Write("\n"u8);
        }

        body.Write("data: "u8);
        _writer.Reset(body);
        JsonSerializer.Serialize(_writer, value, _json);
        _writer.Flush();
        body.Write("\n\n"u8);
    }

    /// <summary>Sends the events buffered so far.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var result = await _response.BodyWriter.FlushAsync(cancellationToken);
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("The response's flush was cancelled.", cancellationToken);
        }
    }
}
