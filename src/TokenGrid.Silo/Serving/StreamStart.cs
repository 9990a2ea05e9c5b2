using Microsoft.Extensions.Options;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// The start of an OpenAI completion stream, shared by <see cref="CompletionStream"/> and <see cref="ChoicesStream"/>.
/// The stream stays silent while it waits for its first text, for up to <see cref="ApiOptions.StreamOpenAfter"/>, so
/// a request that fails at once still gets a plain problem reply. A stream still waiting then (its job queued behind
/// others) sends its status line and headers and an SSE comment, and another every
/// <see cref="ApiOptions.StreamKeepAliveInterval"/> until its first text: a silent connection would be cut by the
/// client's read timeout (the OpenAI SDKs' covers the wait for headers, and they resubmit) or by a proxy's idle timeout.
/// The opening chunks go out with the first text, as before. Once the first text is out this costs one field check per
/// event.
/// </summary>
internal sealed class StreamStart
{
    private readonly HttpContext _http;
    private readonly IReadOnlyList<IChunkFormat> _formats;
    private readonly OpenAi.Usage? _openingUsage;
    private readonly TimeProvider _time;
    private readonly TimeSpan _openAfter;
    private readonly TimeSpan _interval;
    private readonly long _began;
    private readonly Func<Task> _beat;
    private bool _opened;

    /// <summary>Starts the clock of the stream's first window.</summary>
    /// <param name="http">The request.</param>
    /// <param name="formats">The chunk format of each choice, whose opening chunks go out with the first text.</param>
    /// <param name="openingUsage">The usage the opening chunks carry.</param>
    public StreamStart(HttpContext http, IReadOnlyList<IChunkFormat> formats, OpenAi.Usage? openingUsage)
    {
        _http = http;
        _formats = formats;
        _openingUsage = openingUsage;
        var options = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value;
        _time = http.RequestServices.GetRequiredService<TimeProvider>();
        _openAfter = options.StreamOpenAfter;
        _interval = options.StreamKeepAliveInterval;
        _began = _time.GetTimestamp();
        _beat = BeatAsync;
    }

    /// <summary>
    /// The writer once the status line and headers are sent (at the first text, or by a keep-alive), else null. From
    /// then on a failure can no longer be a problem reply: it goes out as an error event.
    /// </summary>
    public SseWriter? Writer { get; private set; }

    /// <summary>
    /// The result of <paramref name="next"/>, the read of the next event. Until the first text it keeps the connection
    /// alive while the read is pending (see the class); afterwards it is <paramref name="next"/> itself.
    /// </summary>
    public ValueTask<T> WaitAsync<T>(ValueTask<T> next)
    {
        if (_opened)
        {
            return next;
        }

        var first = Writer is null ? _openAfter - _time.GetElapsedTime(_began) : _interval;
        return KeepAlive.WaitAsync(next, first, _interval, _beat, _time);
    }

    /// <summary>The writer for the first text: sends the headers if no keep-alive has, and the opening chunks.</summary>
    public async Task<SseWriter> OpenAsync()
    {
        var writer = Writer ??= await SseWriter.StartAsync(_http);
        if (!_opened)
        {
            _opened = true;
            foreach (var format in _formats)
            {
                // Opened with the first text: nothing is streamed yet, so no completion tokens either.
                foreach (var opening in format.Opening(_openingUsage))
                {
                    await writer.WriteAsync(opening, cancellationToken: _http.RequestAborted);
                }
            }
        }

        return writer;
    }

    private async Task BeatAsync()
    {
        Writer ??= await SseWriter.StartAsync(_http);
        await Writer.WriteKeepAliveAsync(_http.RequestAborted);
    }
}
