using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// A server whose one node runs one sequence at a time, whose streams send their headers after 50 ms without text and
/// keep-alive comments every 200 ms: a stream queued behind a job holding the slot shows it at once.
/// </summary>
public sealed class QueuedStreamServerFixture() : SettingsServerFixture(new Dictionary<string, string>
{
    ["TokenGrid:Nodes:Engine:MaxBatchSize"] = "1",
    ["TokenGrid:Models:DemoSpec:ContextLength"] = "8192",
    ["TokenGrid:Api:StreamOpenAfter"] = "00:00:00.050",
    ["TokenGrid:Api:StreamKeepAliveInterval"] = "00:00:00.200",
});

/// <summary>
/// A stream whose job waits in the queue sends its status line, headers and <c>: keep-alive</c> comments before its
/// first token (a silent connection is cut by SDK read timeouts and idle proxies), the OpenAI SDKs read such a stream
/// as any other, a failure after the headers is an error event, and the job watch keeps a queued job's watch alive.
/// </summary>
public sealed class QueuedStreamTests(QueuedStreamServerFixture fixture) : IClassFixture<QueuedStreamServerFixture>
{
    private const string Comment = ": keep-alive";

    private TokenGridServer Server => fixture.Server;

    public static TheoryData<string, string> QueuedStreams => new()
    {
        { "v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"q"}],"max_tokens":5,"stream":true}""" },
        { "v1/completions", """{"model":"demo","prompt":"q","max_tokens":5,"n":2,"stream":true}""" },
    };

    [Theory]
    [MemberData(nameof(QueuedStreams))]
    public async Task A_queued_stream_sends_headers_and_keep_alives_before_its_first_token_and_then_completes(string path, string body)
    {
        var (client, holder) = await HoldTheSlotAsync();
        try
        {
            using var response = await PostStreamAsync(client, path, body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            using var lines = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Equal(Comment, await ReadLineAsync(lines));
            Assert.Equal("", await ReadLineAsync(lines));

            // The comment came while the request's jobs were still queued: before any token.
            var queued = await QueuedJobsAsync(client, holder);
            Assert.NotEmpty(queued);
            Assert.All(queued, job => Assert.Equal("queued", job["status"]!.GetValue<string>()));

            await client.PostAsync($"v1/jobs/{holder}/cancel", null);
            var rest = await lines.ReadToEndAsync();
            var data = rest.Split('\n').Where(l => l.Length > 0 && !l.StartsWith(Comment, StringComparison.Ordinal)).ToList();
            var commentsAfterText = rest[rest.IndexOf("data: ", StringComparison.Ordinal)..].Contains(Comment, StringComparison.Ordinal);
            Assert.False(commentsAfterText, "a keep-alive comment after the first text");
            Assert.All(data, l => Assert.StartsWith("data: ", l));
            Assert.Equal("data: [DONE]", data[^1]);
            var chunks = data[..^1].Select(l => JsonNode.Parse(l["data: ".Length..])!.AsObject()).ToList();
            Assert.DoesNotContain(chunks, c => c.ContainsKey("error"));
            var finishes = chunks.SelectMany(c => c["choices"]!.AsArray()).Count(c => c!["finish_reason"] is JsonValue);
            Assert.Equal(path.Contains("chat") ? 1 : 2, finishes);
        }
        finally
        {
            await client.PostAsync($"v1/jobs/{holder}/cancel", null);
        }
    }

    [Fact]
    public async Task A_queued_stream_whose_job_is_cancelled_after_its_headers_ends_with_an_error_event()
    {
        var (client, holder) = await HoldTheSlotAsync();
        try
        {
            using var response = await PostStreamAsync(client, "v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"q"}],"max_tokens":5,"stream":true}""");
            using var lines = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Equal(Comment, await ReadLineAsync(lines));
            var job = Assert.Single(await QueuedJobsAsync(client, holder));
            await client.PostAsync($"v1/jobs/{job["id"]}/cancel", null);

            var data = (await lines.ReadToEndAsync()).Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).ToList();
            Assert.Equal(["data: [DONE]"], data[1..]);
            var error = JsonNode.Parse(data[0]["data: ".Length..])!["error"]!;
            Assert.Equal("job_cancelled", error["code"]!.GetValue<string>());
        }
        finally
        {
            await client.PostAsync($"v1/jobs/{holder}/cancel", null);
        }
    }

    [Fact]
    public async Task The_watch_of_a_queued_job_sends_keep_alive_comments_until_it_runs()
    {
        var (client, holder) = await HoldTheSlotAsync();
        try
        {
            var queued = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Later.", max_tokens = 5 })).ReadJsonAsync(HttpStatusCode.Accepted);
            using var response = await client.GetAsync($"v1/jobs/{queued["id"]}/events", HttpCompletionOption.ResponseHeadersRead);
            using var lines = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Equal("event: status", await ReadLineAsync(lines));
            while (await ReadLineAsync(lines) is { } line && line != Comment)
            {
                Assert.NotEqual("event: tokens", line);
            }

            var status = await (await client.GetAsync($"v1/jobs/{queued["id"]}")).ReadJsonAsync();
            Assert.Equal("queued", status["status"]!.GetValue<string>());

            await client.PostAsync($"v1/jobs/{holder}/cancel", null);
            var rest = await lines.ReadToEndAsync();
            Assert.Contains("\"succeeded\"", rest, StringComparison.Ordinal);
        }
        finally
        {
            await client.PostAsync($"v1/jobs/{holder}/cancel", null);
        }
    }

    [Fact]
    public async Task The_node_sdk_with_a_short_timeout_reads_a_queued_stream_without_retrying()
    {
        var (client, holder) = await HoldTheSlotAsync();
        try
        {
            // The script cancels the holder once the stream's headers are in, within its timeout: without headers sent
            // while the job waits in the queue, the holder would run on and the request time out.
            var result = await ReferenceTools.OpenAiQueuedStreamAsync(new Uri(Server.BaseAddress, "v1"), KeyOf(client), holder);
            Assert.False(result.ContainsKey("error"), result.ToJsonString());
            Assert.Equal(1, result["attempts"]!.GetValue<int>());
            Assert.NotEmpty(result["text"]!.GetValue<string>());
            Assert.Equal("length", result["finish"]!.GetValue<string>());
            Assert.Equal(5, result["usage"]!["completion_tokens"]!.GetValue<int>());
        }
        finally
        {
            await client.PostAsync($"v1/jobs/{holder}/cancel", null);
        }
    }

    [Fact]
    public async Task The_dotnet_sdk_reads_a_queued_stream_with_keep_alives()
    {
        var (client, holder) = await HoldTheSlotAsync();
        try
        {
            // The transport cancels the holder once the stream's headers are in, so keep-alives came first.
            using var http = new HttpClient(new AfterHeaders(() => client.PostAsync($"v1/jobs/{holder}/cancel", null)));
            var chat = new OpenAIClient(new ApiKeyCredential(KeyOf(client)), new OpenAIClientOptions
            {
                Endpoint = new Uri(Server.BaseAddress, "v1"),
                Transport = new HttpClientPipelineTransport(http),
            }).GetChatClient("demo");

            var text = "";
            ChatFinishReason? finish = null;
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("q")], new ChatCompletionOptions { MaxOutputTokenCount = 5 }))
            {
                text += string.Concat(update.ContentUpdate.Select(p => p.Text));
                finish ??= update.FinishReason;
            }

            Assert.NotEmpty(text);
            Assert.NotNull(finish);
        }
        finally
        {
            await client.PostAsync($"v1/jobs/{holder}/cancel", null);
        }
    }

    /// <summary>A fresh tenant's client, and an async job long enough to hold the node's one slot until cancelled.</summary>
    private async Task<(HttpClient Client, string Holder)> HoldTheSlotAsync()
    {
        var (_, key) = await Server.CreateTenantAsync(new { max_concurrent_jobs = 100 });
        var client = Server.Client(key);
        var job = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Write an essay.", max_tokens = 8000, ignore_eos = true }))
            .ReadJsonAsync(HttpStatusCode.Accepted);
        return (client, job["id"]!.GetValue<string>());
    }

    private static string KeyOf(HttpClient client) => client.DefaultRequestHeaders.Authorization!.Parameter!;

    private static async Task<HttpResponseMessage> PostStreamAsync(HttpClient client, string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>The next line; a minute without one fails the test (only a broken stream takes that long).</summary>
    private static async Task<string?> ReadLineAsync(StreamReader lines)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        return await lines.ReadLineAsync(timeout.Token);
    }

    /// <summary>The tenant's jobs other than <paramref name="holder"/> that are queued or running.</summary>
    private static async Task<List<JsonObject>> QueuedJobsAsync(HttpClient client, string holder)
    {
        var page = await (await client.GetAsync("v1/jobs?limit=10")).ReadJsonAsync();
        return [.. page["data"]!.AsArray().Select(j => j!.AsObject())
            .Where(j => j["id"]!.GetValue<string>() != holder && j["status"]!.GetValue<string>() is "queued" or "running")];
    }

    /// <summary>Runs <paramref name="onHeaders"/> once a response's headers have arrived, before its body is read.</summary>
    private sealed class AfterHeaders(Func<Task> onHeaders) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            await onHeaders();
            return response;
        }
    }
}
