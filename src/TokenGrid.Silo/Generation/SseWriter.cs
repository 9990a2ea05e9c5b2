using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace TokenGrid.Silo.Generation;

/// <summary>Writes server-sent events (<c>data: {json}</c> blocks), flushing each so clients see tokens as they come.</summary>
internal sealed class SseWriter
{
    private readonly HttpResponse _response;
    private readonly JsonSerializerOptions _json;

    private SseWriter(HttpResponse response, JsonSerializerOptions json)
    {
        _response = response;
        _json = json;
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

    /// <summary>Writes <paramref name="value"/> as JSON in one event, with an optional id and event name.</summary>
    public Task WriteAsync<T>(T value, long? id = null, string? eventName = null, CancellationToken cancellationToken = default) =>
        WriteRawAsync(JsonSerializer.Serialize(value, _json), id, eventName, cancellationToken);

    /// <summary>Writes OpenAI's end-of-stream marker, <c>data: [DONE]</c>.</summary>
    public Task WriteDoneAsync(CancellationToken cancellationToken = default) => WriteRawAsync("[DONE]", null, null, cancellationToken);

    private async Task WriteRawAsync(string data, long? id, string? eventName, CancellationToken cancellationToken)
    {
        var block = new StringBuilder();
        if (id is { } eventId)
        {
            block.Append("id: ").Append(eventId).Append('\n');
        }

        if (eventName is not null)
        {
            block.Append("event: ").Append(eventName).Append('\n');
        }

        block.Append("data: ").Append(data).Append("\n\n");
        await _response.WriteAsync(block.ToString(), cancellationToken);
        await _response.Body.FlushAsync(cancellationToken);
    }
}
