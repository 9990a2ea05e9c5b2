using System.Net;
using System.Net.Http.Headers;
using System.Text;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Hardening;

/// <summary>
/// Bad input below the JSON level, case by case: bytes that are not UTF-8, unpaired surrogate escapes, charsets and
/// media types, duplicate and huge headers, NUL in queries, bodies shorter than their length. Each gets its 4xx as an
/// RFC 9457 problem (or Kestrel's bare refusal where Kestrel answers before the application), never a 5xx.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ByteInputTests(ServerFixture fixture)
{
    private TokenGridServer Server => fixture.Server;

    [Theory]
    [InlineData(new byte[] { 0xFF }, 31)]
    [InlineData(new byte[] { 0xC0, 0xAF }, 31)]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, 31)]
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 }, 31)]
    [InlineData(new byte[] { 0x61, 0xE2, 0x82 }, 32)]
    public async Task Bytes_that_are_not_UTF8_are_400_invalid_json_naming_the_offset(byte[] bad, int offset)
    {
        byte[] body = [.. """{"model":"demo","prompt":"Hello"""u8, .. bad, .. "\",\"max_tokens\":1}"u8];
        foreach (var path in new[] { "v1/completions", "v1/jobs" })
        {
            var problem = await (await PostAsync(path, body)).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_json");
            Assert.Contains($"offset {offset}", problem["detail"]!.GetValue<string>());
        }

        // The Responses API's body, the bad bytes at the same offset ("input" is as long as "prompt").
        byte[] response = [.. """{"model":"demo","input":"Hello"""u8, .. bad, .. "\",\"max_output_tokens\":1}"u8];
        var refused = await (await PostAsync("v1/responses", response)).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_json");
        Assert.Contains($"offset {offset - 1}", refused["detail"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("v1/completions", """{"model":"demo","prompt":"a\ud800b","max_tokens":1}""", "prompt")]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","stop":["ok","\udc00"],"max_tokens":1}""", "stop[1]")]
    [InlineData("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":[{"type":"text","text":"\ud83e"}]}]}""", "messages[0].content[0].text")]
    [InlineData("v1/jobs", """{"model":"demo","messages":[{"role":"user","content":"\udbff\u0041"}]}""", "messages[0].content")]
    [InlineData("v1/responses", """{"model":"demo","input":[{"role":"user","content":[{"type":"input_text","text":"\ud83e"}]}]}""", "input[0].content[0].text")]
    [InlineData("v1/responses", """{"model":"demo","input":"x","instructions":"\udc00"}""", "instructions")]
    [InlineData("v1/jobs", """{"model":"demo","prompt":"x","\ud800":1}""", "")]
    public async Task An_unpaired_surrogate_escape_is_400_invalid_value_naming_the_field(string path, string body, string param)
    {
        var problem = await (await PostAsync(path, Encoding.UTF8.GetBytes(body))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
        Assert.Equal(param.Length == 0 ? null : param, problem["error"]!["param"]?.GetValue<string>());
    }

    [Fact]
    public async Task Escaped_NUL_and_surrogate_pairs_are_text_like_any_other()
    {
        var completion = await (await PostAsync("v1/completions", """{"model":"demo","prompt":"a\u0000b \ud83e\udd80","stop":"\u0000","max_tokens":1}"""u8.ToArray())).ReadJsonAsync();
        Assert.Equal("text_completion", completion["object"]!.GetValue<string>());
        await (await PostAsync("v1/jobs", """{"model":"demo","messages":[{"role":"user","content":"\u0000"}],"max_tokens":1}"""u8.ToArray())).ReadJsonAsync(HttpStatusCode.Accepted);
    }

    [Theory]
    [InlineData("application/json; charset=latin1")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/json; charset=\"iso-8859-1\"")]
    public async Task A_charset_other_than_UTF8_is_415(string contentType)
    {
        var problem = await (await PostAsync("v1/completions", """{"model":"demo","prompt":"x","max_tokens":1}"""u8.ToArray(), contentType))
            .AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Assert.Contains("UTF-8", problem["detail"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=\"UTF8\"")]
    [InlineData(null)]
    public async Task JSON_as_UTF8_or_without_a_media_type_is_read(string? contentType)
    {
        await (await PostAsync("v1/jobs", """{"model":"demo","prompt":"x","max_tokens":1}"""u8.ToArray(), contentType)).ReadJsonAsync(HttpStatusCode.Accepted);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("application/vnd.api+json")]
    [InlineData("application/merge-patch+json")]
    [InlineData(";;;===")]
    [InlineData("application/json; charset=")]
    public async Task Another_media_type_is_415(string contentType)
    {
        await (await PostAsync("v1/jobs", """{"model":"demo","prompt":"x"}"""u8.ToArray(), contentType))
            .AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Fact]
    public async Task A_body_in_a_content_coding_is_415_naming_it_and_identity_is_the_body_as_it_is()
    {
        var json = """{"model":"demo","prompt":"x","max_tokens":1}"""u8.ToArray();
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(json);
        }

        // A compressed body is refused for its coding, not as bytes that are not UTF-8; a plain body labelled
        // compressed is not read against its label.
        var problem = await (await PostAsync("v1/jobs", compressed.ToArray(), contentEncoding: "gzip")).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Assert.Contains("'gzip'", problem["detail"]!.GetValue<string>());
        await (await PostAsync("v1/jobs", json, contentEncoding: "br")).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await (await PostAsync("v1/jobs", json, contentEncoding: "identity, gzip")).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await (await PostAsync("v1/jobs", json, contentEncoding: "identity")).ReadJsonAsync(HttpStatusCode.Accepted);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF }, "application/json", 400, "invalid_json", null)]
    [InlineData(new byte[] { 0xC0, 0xAF }, "application/json", 400, "invalid_json", null)]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, "application/json", 400, "invalid_json", null)]
    [InlineData(new byte[] { 0xE2, 0x82 }, "application/json", 400, "invalid_json", null)]
    [InlineData(new byte[] { 0x5C, 0x75, 0x64, 0x38, 0x30, 0x30 }, "application/json", 400, "invalid_value", "url")]
    [InlineData(new byte[] { 0x68 }, "application/json; charset=bogus", 415, "unsupported_media_type", null)]
    [InlineData(new byte[] { 0x68 }, "application/json; charset=utf-7", 415, "unsupported_media_type", null)]
    [InlineData(new byte[] { 0x68 }, "application/json; charset=shift_jis", 415, "unsupported_media_type", null)]
    [InlineData(new byte[] { 0xE9 }, "application/json; charset=iso-8859-1", 415, "unsupported_media_type", null)]
    [InlineData(new byte[] { 0x68 }, "application/json; charset=utf-16", 415, "unsupported_media_type", null)]
    public async Task A_webhook_body_is_read_as_every_body_is(byte[] inUrl, string contentType, int status, string code, string? param)
    {
        byte[] body = [.. """{"url":"https://example.com/"""u8, .. inUrl, .. "\"}"u8];
        var problem = await (await PutWebhookAsync(body, contentType)).AssertProblemAsync((HttpStatusCode)status, code);
        Assert.Equal(param, problem["error"]!["param"]?.GetValue<string>());
    }

    [Theory]
    [InlineData("{\"url\":")]
    [InlineData("[]")]
    [InlineData("{\"url\":\"https://example.com/a\",\"url\":\"https://example.com/b\"}")]
    [InlineData("\uFEFF{\"url\":\"https://example.com/a\"}")]
    [InlineData("")]
    public async Task A_webhook_body_that_is_not_one_JSON_object_is_400_invalid_json(string body)
    {
        await (await PutWebhookAsync(Encoding.UTF8.GetBytes(body), "application/json")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_json");
    }

    [Fact]
    public async Task A_webhook_body_without_a_media_type_is_read_as_JSON()
    {
        var set = await (await PutWebhookAsync("""{"url":"https://example.com/hook"}"""u8.ToArray(), null)).ReadJsonAsync();
        Assert.Equal("https://example.com/hook", set["url"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded; charset=utf-7")]
    [InlineData("application/x-www-form-urlencoded; charset=UTF-7")]
    [InlineData("application/x-www-form-urlencoded; charset=csUnicode11UTF7")]
    public async Task A_sign_in_form_in_a_charset_NET_cannot_decode_is_415(string contentType)
    {
        using var browser = Server.Client(null);
        var content = new ByteArrayContent("key=x"u8.ToArray());
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        await (await browser.PostAsync("dashboard/login", content)).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Fact]
    public async Task A_sign_in_form_part_in_a_charset_NET_cannot_decode_is_415()
    {
        using var browser = Server.Client(null);
        var part = new ByteArrayContent("x"u8.ToArray());
        part.Headers.ContentType = MediaTypeHeaderValue.Parse("text/plain; charset=utf-7");
        using var form = new MultipartFormDataContent { { part, "key" } };
        await (await browser.PostAsync("dashboard/login", form)).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Theory]
    [InlineData("Authorization: Bearer " + TokenGridServer.DemoKey, "Authorization")]
    [InlineData("Content-Type: application/json", "Content-Type")]
    public async Task A_single_valued_header_sent_twice_is_400_invalid_header(string line, string header)
    {
        var body = """{"model":"demo","prompt":"x","max_tokens":1}""";
        var answer = await ExchangeAsync(
            $"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TokenGridServer.DemoKey}\r\nContent-Type: application/json\r\n{line}\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        Assert.Equal(400, answer.Status);
        Assert.Contains("\"code\":\"invalid_header\"", answer.Text);
        Assert.Contains($"\"param\":\"{header}\"", answer.Text);
    }

    [Fact]
    public async Task Kestrel_refuses_two_lengths_and_huge_headers_before_the_application()
    {
        var twoLengths = await ExchangeAsync("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}");
        Assert.Equal((400, 0), (twoLengths.Status, twoLengths.Body.Length));

        var huge = await ExchangeAsync($"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Pad: {new string('a', 40 * 1024)}\r\n\r\n");
        Assert.Equal(431, huge.Status);
    }

    [Theory]
    [InlineData("HTTP/1.2")]
    [InlineData("HTTP/2.0")]
    public async Task Kestrel_answers_another_HTTP_version_with_its_bare_505_as_documented(string version)
    {
        var answer = await ExchangeAsync($"GET /v1/models {version}\r\nHost: x\r\n\r\n");
        Assert.Equal(505, answer.Status);
    }

    [Fact]
    public async Task A_NUL_in_a_query_value_is_400_naming_the_parameter()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var problem = await (await client.GetAsync("v1/jobs?before=job_%00x")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
        Assert.Equal("before", problem["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_body_cut_short_of_its_length_or_its_chunks_is_400()
    {
        var body = """{"model":"demo","prompt":"x","max_tokens":1}""";
        var head = $"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TokenGridServer.DemoKey}\r\nContent-Type: application/json\r\n";
        foreach (var request in new[]
        {
            head + $"Content-Length: {body.Length + 5}\r\n\r\n{body}",
            head + $"Transfer-Encoding: chunked\r\n\r\n{body.Length:x}\r\n{body}\r\n",
        })
        {
            await using var connection = await RawHttpConnection.OpenAsync(Server.BaseAddress);
            await connection.SendAsync(Encoding.UTF8.GetBytes(request));
            connection.EndSending();
            var answer = await connection.ReadResponseAsync();

            // Kestrel answers the half-closed request with the application's 400, or closes when it counts the client gone.
            Assert.True(answer is null || answer.Status == 400, $"{answer?.Status}: {answer?.Text}");
        }
    }

    [Fact]
    public async Task A_tenant_id_with_a_trailing_newline_is_400()
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var problem = await (await admin.PostJsonAsync("admin/tenants", new { id = "acme\n" })).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
        Assert.Equal("id", problem["error"]!["param"]!.GetValue<string>());
    }

    private async Task<HttpResponseMessage> PostAsync(string path, byte[] body, string? contentType = "application/json", string? contentEncoding = null)
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var content = new ByteArrayContent(body);

        // As sent, unchecked: some of these are not media types at all.
        Assert.True(contentType is null || content.Headers.TryAddWithoutValidation("Content-Type", contentType));
        Assert.True(contentEncoding is null || content.Headers.TryAddWithoutValidation("Content-Encoding", contentEncoding));
        return await client.PostAsync(path, content);
    }

    /// <summary>Sets a webhook of a new tenant (so no other test's tenant gets one).</summary>
    private async Task<HttpResponseMessage> PutWebhookAsync(byte[] body, string? contentType)
    {
        var (_, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);
        return await client.PutAsync("v1/billing/webhook", content);
    }

    private async Task<RawHttpResponse> ExchangeAsync(string request)
    {
        await using var connection = await RawHttpConnection.OpenAsync(Server.BaseAddress);
        await connection.SendAsync(Encoding.Latin1.GetBytes(request));
        return await connection.ReadResponseAsync() ?? throw new InvalidOperationException("The server closed without an answer.");
    }
}
