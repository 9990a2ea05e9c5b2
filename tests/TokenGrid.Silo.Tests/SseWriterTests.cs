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

    [Fact]
    public async Task A_flush_the_client_does_not_take_within_the_write_timeout_aborts_the_connection()
    {
        // A response pipe that nobody reads, as a client whose socket buffers are full: a flush past its pause
        // threshold waits until the reader takes the bytes, which never happens.
        var pipe = new System.IO.Pipelines.Pipe(new System.IO.Pipelines.PipeOptions(pauseWriterThreshold: 1024, resumeWriterThreshold: 512));
        var (http, _) = Context(TimeSpan.FromMilliseconds(200));
        var lifetime = new AbortRecorder();
        http.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>(new StreamResponseBodyFeatureOver(pipe.Writer));
        http.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpRequestLifetimeFeature>(lifetime);
        var writer = await SseWriter.StartAsync(http);

        await writer.WriteAsync(new { Text = "fits" });
        writer.Append(new { Text = new string('x', 4096) });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.True(lifetime.Aborted);
        Assert.True(http.RequestAborted.IsCancellationRequested);
    }

    private static (HttpContext Http, MemoryStream Body) Context(TimeSpan? writeTimeout = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.Configure<TokenGrid.Silo.Options.ApiOptions>(o => o.StreamWriteTimeout = writeTimeout ?? TimeSpan.FromSeconds(30));
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

    /// <summary>A response body that is the writer of a pipe.</summary>
    private sealed class StreamResponseBodyFeatureOver(System.IO.Pipelines.PipeWriter writer) : Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature
    {
        public Stream Stream => writer.AsStream();

        public System.IO.Pipelines.PipeWriter Writer => writer;

        public void DisableBuffering()
        {
        }

        public Task StartAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task CompleteAsync() => writer.CompleteAsync().AsTask();
    }

    /// <summary>Records <see cref="HttpContext.Abort"/> and cancels the request's token, as Kestrel does.</summary>
    private sealed class AbortRecorder : Microsoft.AspNetCore.Http.Features.IHttpRequestLifetimeFeature
    {
        private readonly CancellationTokenSource _aborted = new();

        public bool Aborted { get; private set; }

        public CancellationToken RequestAborted
        {
            get => _aborted.Token;
            set => throw new NotSupportedException();
        }

        public void Abort()
        {
            Aborted = true;
            _aborted.Cancel();
        }
    }
}
