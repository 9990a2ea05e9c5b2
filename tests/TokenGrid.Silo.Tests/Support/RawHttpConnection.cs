using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>An HTTP/1.1 response as read off the socket: status, headers (names lower-case) and the body's bytes.</summary>
public sealed record RawHttpResponse(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    /// <summary>Whether the server closes the connection after this response.</summary>
    public bool Closes => Headers.TryGetValue("connection", out var value) && value.Contains("close", StringComparison.OrdinalIgnoreCase);

    /// <summary>The media type of the body, or null without a <c>Content-Type</c>.</summary>
    public string? MediaType => Headers.TryGetValue("content-type", out var value) ? value.Split(';')[0].Trim() : null;

    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>The server closed the connection inside the chunked body of a response it had started with <paramref name="status"/>.</summary>
public sealed class TruncatedResponseException(int status) : IOException($"The connection closed inside the chunked body of a {status} response.")
{
    /// <summary>The status the cut response started with.</summary>
    public int Status { get; } = status;
}

/// <summary>
/// One keep-alive TCP connection that sends raw bytes and reads HTTP/1.1 responses (by <c>Content-Length</c> or chunked),
/// for requests an <see cref="HttpClient"/> refuses to make: broken framing, duplicate headers, bodies cut short.
/// Every read has a timeout that only a failure reaches.
/// </summary>
public sealed class RawHttpConnection : IAsyncDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawHttpConnection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawHttpConnection> OpenAsync(Uri server)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(server.Host, server.Port);
        return new RawHttpConnection(tcp);
    }

    public async Task SendAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(ReadTimeout);
        await _stream.WriteAsync(bytes, timeout.Token);
    }

    /// <summary>
    /// Waits until the server has taken everything sent so far out of its socket: the receive queue of the server's end of
    /// this connection (in <c>/proc/net/tcp</c>, the row from the server's port to this client's) is empty.
    /// </summary>
    public async Task WaitUntilServerReadAsync()
    {
        var local = (System.Net.IPEndPoint)_tcp.Client.LocalEndPoint!;
        var remote = (System.Net.IPEndPoint)_tcp.Client.RemoteEndPoint!;
        var row = $":{remote.Port:X4} ";
        var peer = $":{local.Port:X4} ";
        using var timeout = new CancellationTokenSource(ReadTimeout);
        while (true)
        {
            var line = File.ReadLines("/proc/net/tcp").Concat(File.ReadLines("/proc/net/tcp6"))
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .FirstOrDefault(f => f.Length > 4 && (f[1] + " ").EndsWith(row, StringComparison.Ordinal) && (f[2] + " ").EndsWith(peer, StringComparison.Ordinal));
            if (line is null || line[4].EndsWith(":00000000", StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>Drops the connection with a reset (RST, as a client that crashed or was killed), not a close.</summary>
    public void Reset()
    {
        // The socket itself, with no linger: closing the TcpClient or its stream would shut it down (a FIN) first.
        _tcp.Client.LingerState = new LingerOption(true, 0);
        _tcp.Client.Close();
    }

    /// <summary>Tells the server nothing more comes (a half-close): a body cut short then ends where it was cut.</summary>
    public void EndSending() => _tcp.Client.Shutdown(SocketShutdown.Send);

    /// <summary>
    /// The next response, or null when the server closed the connection (or reset it) before starting one. A response
    /// that does not arrive within the timeout fails the test.
    /// </summary>
    public async Task<RawHttpResponse?> ReadResponseAsync()
    {
        using var timeout = new CancellationTokenSource(ReadTimeout);
        var token = timeout.Token;
        string? statusLine;
        try
        {
            statusLine = await ReadLineAsync(token);
        }
        catch (IOException)
        {
            return null;
        }

        if (statusLine is null)
        {
            return null;
        }

        var parts = statusLine.Split(' ', 3);
        Assert.True(parts.Length >= 2 && parts[0] == "HTTP/1.1", $"Not an HTTP/1.1 status line: '{statusLine}'");
        var status = int.Parse(parts[1], CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (await ReadLineAsync(token) is { Length: > 0 } line)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var name = line[..colon].Trim().ToLowerInvariant();
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var earlier) ? earlier + ", " + value : value;
        }

        byte[] body;
        if (headers.TryGetValue("transfer-encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            using var chunks = new MemoryStream();
            while (true)
            {
                var sizeLine = await ReadLineAsync(token) ?? throw new TruncatedResponseException(status);
                var size = int.Parse(sizeLine.Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    while (await ReadLineAsync(token) is { Length: > 0 })
                    {
                    }

                    break;
                }

                chunks.Write(await ReadExactAsync(size, token));
                await ReadLineAsync(token);
            }

            body = chunks.ToArray();
        }
        else if (headers.TryGetValue("content-length", out var length))
        {
            body = await ReadExactAsync(int.Parse(length, CultureInfo.InvariantCulture), token);
        }
        else
        {
            // Neither: a 1xx/204/304, or a body that ends when the connection does.
            body = status is < 200 or 204 or 304 ? [] : await ReadToEndAsync(token);
        }

        return new RawHttpResponse(status, headers, body);
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }

    private async Task<bool> FillAsync(CancellationToken token)
    {
        if (_start > 0 && _start == _end)
        {
            (_start, _end) = (0, 0);
        }
        else if (_end == _buffer.Length)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            (_start, _end) = (0, _end - _start);
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), token);
        _end += read;
        return read > 0;
    }

    /// <summary>A line without its CRLF, or null when the connection ends before any byte of it.</summary>
    private async Task<string?> ReadLineAsync(CancellationToken token)
    {
        while (true)
        {
            var at = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (at >= 0)
            {
                var line = Encoding.Latin1.GetString(_buffer, _start, at);
                _start += at + 2;
                return line;
            }

            if (!await FillAsync(token))
            {
                return _start == _end ? null : throw new IOException("The connection closed inside a line.");
            }
        }
    }

    private async Task<byte[]> ReadExactAsync(int count, CancellationToken token)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_start == _end && !await FillAsync(token))
            {
                throw new IOException($"The connection closed after {copied} of {count} body bytes.");
            }

            var n = Math.Min(count - copied, _end - _start);
            Array.Copy(_buffer, _start, result, copied, n);
            (_start, copied) = (_start + n, copied + n);
        }

        return result;
    }

    private async Task<byte[]> ReadToEndAsync(CancellationToken token)
    {
        using var rest = new MemoryStream();
        do
        {
            rest.Write(_buffer, _start, _end - _start);
            _start = _end;
        }
        while (await FillAsync(token));
        return rest.ToArray();
    }
}
