using System.Text;

namespace TokenGrid.Silo.Tests.Hardening;

/// <summary>How a raw request ends on the socket, and what may come back.</summary>
public enum RawEnding
{
    /// <summary>The request is whole: one response follows.</summary>
    Read,

    /// <summary>The body is cut short and the client half-closes: a 400, or the server closes the connection.</summary>
    HalfClose,

    /// <summary>The body is cut short and the client goes away: no response; the server must not log an error.</summary>
    Abort,

    /// <summary>More bytes than <c>Content-Length</c>: one response, then the extra bytes as a (bad) next request.</summary>
    ReadTwo,
}

/// <summary>One fuzzed request: its bytes, how it ends, and whether Kestrel itself may refuse it (a bare 4xx, no body).</summary>
public sealed record ByteRequest(string Kind, string Method, string Target, byte[] Bytes, RawEnding Ending, bool ServerMayRefuse)
{
    public override string ToString()
    {
        var text = Encoding.Latin1.GetString(Bytes);
        return $"[{Kind}] {(text.Length <= 600 ? text : text[..600] + $"… ({Bytes.Length} bytes)")}";
    }
}

/// <summary>A request the fuzzer starts from: a valid call of an endpoint.</summary>
public sealed record ByteTarget(string Method, string Path, string? Key, string? Body, string ContentType = "application/json");

/// <summary>
/// Seeded byte-level mutations of valid requests: invalid UTF-8 (stray, overlong, encoded surrogates, cut sequences),
/// unpaired surrogate and NUL escapes, bodies cut or with bytes flipped, wrong media types and charsets, duplicate and
/// huge headers, <c>Content-Length</c> above or below the body, chunked bodies broken or cut short, clients that go away
/// mid-body, and hostile paths and queries. The same seed gives the same requests.
/// </summary>
public sealed class ByteRequests(int seed, string host, IReadOnlyList<ByteTarget> bodies, IReadOnlyList<ByteTarget> reads)
{
    private static readonly byte[][] BadUtf8 =
    [
        [0xFF], [0xFE], [0x80], [0xBF], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xF0, 0x80, 0x80, 0xAF],
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC3],
        [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC3, 0x28], [0xE2, 0x28, 0xA1],
    ];

    private static readonly string[] Escapes =
    [
        @"\ud800", @"\udc00", @"\udbff\u0041", @"\ud800\ud800", @"\udfff\ud800", @"\u0000", @"a\u0000b", @"\ud83e\udd80",
        @"\uffff", @"\ufeff", "🦀", "\u00e9", @"\u001f", @"\\", @"\""", @"\u",  @"\x41", @"\ud8",
    ];

    private static readonly string[] ContentTypes =
    [
        "", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml",
        "application/json; charset=latin1", "application/json; charset=utf-16", "application/json; charset=\"UTF-8\"",
        "application/json; charset=utf8", "application/json;charset=UTF-8", "APPLICATION/JSON", "application/json; x=1",
        "application/merge-patch+json", "text/json", "@@@", "application/json; charset=", "application/", "*/*",
        "application/json, text/plain",
    ];

    private static readonly string[] HostileSegments =
    [
        "", "%20", "..", "%2E%2E", "%2F", "%01", "%FF", "%C0%AF", "%ED%A0%80", "%C3", "%F4%90%80%80", "-1",
        "99999999999999999999", "%7B%7D", "'%20OR%201=1--", "%F0%9F%A6%80", "%25", "%3F", "%E2%80%AE", "%00", "a%00b",
        "%u0000", "%%", "%G1",
    ];

    private readonly Random _random = new(seed);

    /// <summary>The next request: a mutated body request mostly, a hostile read sometimes.</summary>
    public ByteRequest Next() => _random.Next(8) == 0 ? Read() : Body();

    private ByteRequest Body()
    {
        var target = bodies[_random.Next(bodies.Count)];
        var body = Encoding.UTF8.GetBytes(target.Body ?? "");
        var contentType = target.ContentType;
        var extra = new List<string>();
        switch (_random.Next(16))
        {
            case 0 when _random.Next(3) == 0:
                // Valid requests generate (slowly, next to the rest): a few keep the accepted paths covered.
                return Framed("valid", target, body, contentType, extra);
            case 0:
            case 1:
                return Framed("bad-utf8", target, InsertInString(body, BadUtf8[_random.Next(BadUtf8.Length)]), contentType, extra);
            case 2:
            case 3:
                return Framed("escape", target, InsertInString(body, Encoding.UTF8.GetBytes(Escapes[_random.Next(Escapes.Length)])), contentType, extra);
            case 4:
                return Framed("cut", target, body[.._random.Next(body.Length + 1)], contentType, extra);
            case 5:
                return Framed("flip", target, Flip(body), contentType, extra);
            case 6:
                return Framed("content-type", target, body, ContentTypes[_random.Next(ContentTypes.Length)], extra);
            case 7:
                var header = _random.Next(3) switch
                {
                    0 => $"Authorization: Bearer {target.Key ?? "tg-x"}",
                    1 => "Content-Type: application/json",
                    _ => "Last-Event-ID: 1\r\nLast-Event-ID: 2",
                };
                extra.Add(header);
                return Framed("duplicate-header", target, body, contentType, extra);
            case 8:
                // Over Kestrel's 32 KiB of headers, or over its 100 headers: 431 before the application runs.
                if (_random.Next(2) == 0)
                {
                    extra.Add("X-Pad: " + new string('a', 33 * 1024));
                }
                else
                {
                    extra.AddRange(Enumerable.Range(0, 101).Select(i => $"X-H{i}: {i}"));
                }

                return Framed("huge-header", target, body, contentType, extra) with { ServerMayRefuse = true };
            case 9:
                return Raw("length-above", target, contentType, extra, $"Content-Length: {body.Length + 1 + _random.Next(100)}", body, RawEnding.HalfClose);
            case 10 when body.Length > 1:
                return Raw("length-below", target, contentType, extra, $"Content-Length: {_random.Next(body.Length)}", body, RawEnding.ReadTwo);
            case 11:
                return Raw("chunked", target, contentType, extra, "Transfer-Encoding: chunked", Chunked(MaybeMutate(body)), RawEnding.Read);
            case 12:
                var chunked = Chunked(body);
                return Raw("chunked-cut", target, contentType, extra, "Transfer-Encoding: chunked", chunked[.._random.Next(chunked.Length - 1)], RawEnding.HalfClose);
            case 13:
                var framing = _random.Next(4) switch
                {
                    0 => Encoding.ASCII.GetBytes($"zz\r\n{Encoding.UTF8.GetString(body)}\r\n0\r\n\r\n"),
                    1 => Encoding.ASCII.GetBytes($"{body.Length:x}\r\n{Encoding.UTF8.GetString(body)}0\r\n\r\n"),
                    2 => Encoding.ASCII.GetBytes($"-1\r\n\r\n"),
                    _ => Encoding.ASCII.GetBytes($"fffffffffffffffff\r\n"),
                };
                return Raw("chunked-bad", target, contentType, extra, "Transfer-Encoding: chunked", framing, RawEnding.HalfClose) with { ServerMayRefuse = true };
            case 14:
                return Raw("abort", target, contentType, extra, $"Content-Length: {body.Length + 10}", body[.._random.Next(body.Length + 1)], RawEnding.Abort);
            default:
                var lengths = _random.Next(2) == 0 ? $"Content-Length: {body.Length}\r\nContent-Length: {body.Length}" : $"Content-Length: {body.Length}\r\nContent-Length: {body.Length + 1}";
                return Raw("duplicate-length", target, contentType, extra, lengths, body, RawEnding.Read) with { ServerMayRefuse = true };
        }
    }

    private ByteRequest Read()
    {
        var target = reads[_random.Next(reads.Count)];
        var segment = HostileSegments[_random.Next(HostileSegments.Length)];
        var path = target.Path.Replace("{x}", segment, StringComparison.Ordinal);
        var kind = "hostile-read";
        var mayRefuse = false;
        if (_random.Next(6) == 0)
        {
            // Raw bytes in the request line (not percent-encoded): Kestrel refuses them before the application runs.
            path += Encoding.Latin1.GetString([(byte)(_random.Next(2) == 0 ? 0xFF : _random.Next(1, 32))]);
            (kind, mayRefuse) = ("raw-target", true);
        }

        var head = new StringBuilder($"{target.Method} {path} HTTP/1.1\r\nHost: {host}\r\n");
        if (target.Key is not null)
        {
            head.Append($"Authorization: Bearer {target.Key}\r\n");
        }

        if (_random.Next(5) == 0)
        {
            head.Append($"Last-Event-ID: {segment}\r\n");
        }

        // Kestrel refuses a NUL in the path (%00 decoded) before the application runs; in the query it is the API's.
        var query = path.IndexOf('?', StringComparison.Ordinal);
        mayRefuse |= (query < 0 ? path : path[..query]).Contains("%00", StringComparison.Ordinal);
        head.Append(target.Method == "GET" ? "\r\n" : "Content-Length: 0\r\n\r\n");
        return new ByteRequest(kind, target.Method, path, Encoding.Latin1.GetBytes(head.ToString()), RawEnding.Read, mayRefuse);
    }

    private ByteRequest Framed(string kind, ByteTarget target, byte[] body, string contentType, List<string> extra) =>
        Raw(kind, target, contentType, extra, $"Content-Length: {body.Length}", body, RawEnding.Read);

    private ByteRequest Raw(string kind, ByteTarget target, string contentType, List<string> extra, string framing, byte[] body, RawEnding ending)
    {
        var head = new StringBuilder($"{target.Method} {target.Path} HTTP/1.1\r\nHost: {host}\r\n");
        if (target.Key is not null)
        {
            head.Append($"Authorization: Bearer {target.Key}\r\n");
        }

        if (contentType.Length > 0)
        {
            head.Append($"Content-Type: {contentType}\r\n");
        }

        foreach (var line in extra)
        {
            head.Append(line).Append("\r\n");
        }

        head.Append(framing).Append("\r\n\r\n");
        return new ByteRequest(kind, target.Method, target.Path, [.. Encoding.Latin1.GetBytes(head.ToString()), .. body], ending, false);
    }

    /// <summary><paramref name="inserted"/> right after a random quote of the body: mostly inside a string.</summary>
    private byte[] InsertInString(byte[] body, byte[] inserted)
    {
        var quotes = Enumerable.Range(0, body.Length).Where(i => body[i] == (byte)'"').ToList();
        var at = quotes.Count == 0 ? _random.Next(body.Length + 1) : quotes[_random.Next(quotes.Count)] + 1;
        return [.. body.AsSpan(0, at), .. inserted, .. body.AsSpan(at)];
    }

    private byte[] Flip(byte[] body)
    {
        var flipped = body.ToArray();
        for (var i = 1 + _random.Next(3); i > 0 && flipped.Length > 0; i--)
        {
            flipped[_random.Next(flipped.Length)] = (byte)_random.Next(256);
        }

        return flipped;
    }

    private byte[] MaybeMutate(byte[] body) => _random.Next(3) switch
    {
        0 => body,
        1 => InsertInString(body, BadUtf8[_random.Next(BadUtf8.Length)]),
        _ => Flip(body),
    };

    /// <summary>The body in chunks of random sizes, ended by the zero chunk.</summary>
    private byte[] Chunked(byte[] body)
    {
        using var chunked = new MemoryStream();
        for (var at = 0; at < body.Length;)
        {
            var size = Math.Min(body.Length - at, 1 + _random.Next(64));
            chunked.Write(Encoding.ASCII.GetBytes($"{size:x}\r\n"));
            chunked.Write(body, at, size);
            chunked.Write("\r\n"u8);
            at += size;
        }

        chunked.Write("0\r\n\r\n"u8);
        return chunked.ToArray();
    }
}
