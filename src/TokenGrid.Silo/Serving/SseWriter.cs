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
internal sealed partial class SseWriter
{
    private readonly HttpContext _http;
    private readonly HttpResponse _response;
    private readonly JsonSerializerOptions _json;
    private readonly Utf8JsonWriter _writer;
    private readonly TimeSpan _writeTimeout;

    private SseWriter(HttpContext http, JsonSerializerOptions json, TimeSpan writeTimeout)
    {
        _http = http;
        _response = http.Response;
        _json = json;
        _writeTimeout = writeTimeout;
        var response = _response;
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
        return new SseWriter(
            http, http.RequestServices.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions,
            http.RequestServices.GetRequiredService<IOptions<Options.ApiOptions>>().Value.StreamWriteTimeout);
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
        if (value is INamedServerSentEvent named)
        {
            body.Write("event: "u8);
            body.Write(System.Text.Encoding.UTF8.GetBytes(named.Type));
            body.Write("\n"u8);
        }

        body.Write("data: "u8);
        _writer.Reset(body);
        JsonSerializer.Serialize(_writer, value, _json);
        _writer.Flush();
        body.Write("\n\n"u8);
    }

    /// <summary>
    /// Sends the events buffered so far. A flush that the client does not take within
    /// <see cref="Options.ApiOptions.StreamWriteTimeout"/> (it stopped reading, or is gone without closing) aborts the
    /// connection, which ends the request as a client that left: <see cref="HttpContext.RequestAborted"/> fires and the
    /// job is cancelled.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var flush = _response.BodyWriter.FlushAsync(cancellationToken);

        // The common case, a client that keeps up, completes at once: no timer.
        var result = flush.IsCompleted ? flush.Result : await WaitForClientAsync(flush.AsTask(), cancellationToken);
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("The response's flush was cancelled.", cancellationToken);
        }
    }

    private async Task<System.IO.Pipelines.FlushResult> WaitForClientAsync(Task<System.IO.Pipelines.FlushResult> flush, CancellationToken cancellationToken)
    {
        try
        {
            return await flush.WaitAsync(_writeTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            // The flush ends when the connection does; nothing waits for it any more.
            _ = flush.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            LogStalled(_http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger<SseWriter>(), _writeTimeout.TotalSeconds, _http.TraceIdentifier);
            _http.Abort();
            throw new OperationCanceledException("The client did not read the stream; the connection was aborted.", _http.RequestAborted);
        }
    }

    [LoggerMessage(EventId = 3210, Level = LogLevel.Information, Message = "A stream's client read nothing for {Seconds} s; its connection was aborted as a client that left (request {RequestId})")]
    private static partial void LogStalled(ILogger logger, double seconds, string requestId);
}

/// <summary>
/// An event that names itself: <see cref="SseWriter"/> writes its <see cref="Type"/> as the SSE <c>event:</c> line before
/// its data, as OpenAI's Responses API streams do (the chat and completion streams' chunks are unnamed).
/// </summary>
public interface INamedServerSentEvent
{
    /// <summary>The event's name, a single line.</summary>
    string Type { get; }
}
