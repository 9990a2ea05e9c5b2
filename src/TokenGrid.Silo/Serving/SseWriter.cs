using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace TokenGrid.Silo.Serving;

// Why the OpenAI completion streams keep this writer instead of .NET 10's TypedResults.ServerSentEvents / SseFormatter
// (System.Net.ServerSentEvents), which the job watch (GET /v1/jobs/{id}/events) does use:
// - Batched flushes. SseFormatter flushes the destination after every event, by design and with no option. A completion
//   stream sends the events of one batch of the job's stream with one flush (CompletionStream); a flush per token is a
//   write, a chunk frame and often a syscall per token, which the small-vocabulary grid benchmark pays per token.
// - Per-token CPU. ServerSentEventsResult<T> serializes each item to a string, encodes it to a new byte array, and
//   SseFormatter copies that into a buffer (scanning it for line breaks) and then into the response: two allocations
//   and three copies per token. This writer serializes straight into the response's pipe, reusing one Utf8JsonWriter.
// - Status at the first token (or at the first keep-alive comment, see StreamStart) could be kept with the library (our
//   IResult decides between a problem and the event stream), and so could OpenAI's "data: [DONE]" (a string item is written as is); those
//   two alone would not have kept this writer. Revisit if SseFormatter gains flush control and direct serialization.

/// <summary>
/// Writes server-sent events (<c>data: {json}</c> blocks) straight into the response's pipe as UTF-8, with no
/// intermediate strings: at thousands of tokens per second each token is one event (see the comment above for why not
/// System.Net.ServerSentEvents). <see cref="WriteAsync{T}"/> flushes
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

    /// <summary>Writes <paramref name="value"/> as JSON in one event and flushes it.</summary>
    public Task WriteAsync<T>(T value, CancellationToken cancellationToken = default)
    {
        Append(value);
        return FlushAsync(cancellationToken);
    }

    /// <summary>Writes OpenAI's end-of-stream marker, <c>data: [DONE]</c>, and flushes it.</summary>
    public Task WriteDoneAsync(CancellationToken cancellationToken = default)
    {
        _response.BodyWriter.Write("data: [DONE]\n\n"u8);
        return FlushAsync(cancellationToken);
    }

    /// <summary>
    /// The SSE comment an idle stream sends to keep its connection alive. Event-stream parsers drop comment lines (the
    /// OpenAI SDKs', EventSource and System.Net.ServerSentEvents alike).
    /// </summary>
    public static ReadOnlyMemory<byte> KeepAliveComment { get; } = ": keep-alive\n\n"u8.ToArray();

    /// <summary>Writes <see cref="KeepAliveComment"/> and flushes it.</summary>
    public Task WriteKeepAliveAsync(CancellationToken cancellationToken = default)
    {
        _response.BodyWriter.Write(KeepAliveComment.Span);
        return FlushAsync(cancellationToken);
    }

    /// <summary>Buffers <paramref name="value"/> as one event without sending it; <see cref="FlushAsync"/> sends what is buffered.</summary>
    public void Append<T>(T value)
    {
        var body = _response.BodyWriter;
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
