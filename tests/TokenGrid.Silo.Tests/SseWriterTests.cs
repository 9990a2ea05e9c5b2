using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Silo.Serving;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// The SSE writer puts UTF-8 straight into the response pipe: its bytes must be exactly the blocks the string-based
/// writer produced (JsonSerializer.Serialize with the host's options), whether events are flushed one by one or together.
/// </summary>
public sealed class SseWriterTests
{
    private static readonly JsonSerializerOptions s_options = new(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    [Fact]
    public async Task Events_are_the_serializer_s_json_in_data_blocks()
    {
        var (http, body) = Context();
        var writer = await SseWriter.StartAsync(http);
        object value = new { ChunkText = "héllo \"wörld\" <b> 😀", Tokens = new[] { 1, 2 } };

        await writer.WriteAsync(value);
        await writer.WriteAsync(value);
        await writer.WriteDoneAsync();

        var json = JsonSerializer.Serialize(value, s_options);
        Assert.Equal($"data: {json}\n\ndata: {json}\n\ndata: [DONE]\n\n", Encoding.UTF8.GetString(body.ToArray()));
        Assert.Equal("text/event-stream", http.Response.ContentType);
    }

    [Fact]
    public async Task Appended_events_are_sent_by_the_next_flush_in_order()
    {
        var (http, body) = Context();
        var writer = await SseWriter.StartAsync(http);

        writer.Append(new { N = 1 });
        writer.Append(new { N = 2 });
        Assert.Equal(0, body.Length);

        await writer.FlushAsync();
        Assert.Equal("data: {\"n\":1}\n\ndata: {\"n\":2}\n\n", Encoding.UTF8.GetString(body.ToArray()));
    }

    private static (HttpContext Http, MemoryStream Body) Context()
    {
        var services = new ServiceCollection();
        services.Configure<HttpJsonOptions>(o =>
        {
            o.SerializerOptions.Encoder = s_options.Encoder;
            o.SerializerOptions.PropertyNamingPolicy = s_options.PropertyNamingPolicy;
        });
        var body = new MemoryStream();
        var http = new DefaultHttpContext { RequestServices = services.BuildServiceProvider() };
        http.Response.Body = body;
        return (http, body);
    }
}
