using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// <c>system_fingerprint</c> names the model files a reply came from, the fingerprint <c>GET /admin/models</c> lists: on
/// chat and legacy completions, whole and streamed (every chunk), with one choice or several. A client that pins
/// <c>seed</c> reads from it when the same request may answer otherwise.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class SystemFingerprintTests(ServerFixture fixture)
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task Chat_replies_read_by_the_sdk_carry_the_models_fingerprint_whole_and_streamed()
    {
        var expected = await FingerprintAsync();
        var chat = new OpenAIClient(new ApiKeyCredential(TokenGridServer.DemoKey), new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "v1") })
            .GetChatClient(TokenGridServer.Model);
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 4, Temperature = 0 };

        ChatCompletion reply = await chat.CompleteChatAsync([new UserChatMessage("Say hello.")], options);
        Assert.Equal(expected, reply.SystemFingerprint);

        var updates = 0;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Say hello.")], options))
        {
            updates++;
            Assert.Equal(expected, update.SystemFingerprint);
        }

        Assert.True(updates >= 2, $"only {updates} updates");
    }

    [Theory]
    [InlineData("v1/completions", 1)]
    [InlineData("v1/completions", 2)]
    [InlineData("v1/chat/completions", 2)]
    public async Task Every_reply_and_chunk_carries_the_models_fingerprint(string path, int n)
    {
        var expected = await FingerprintAsync();
        using var client = Server.Client(TokenGridServer.DemoKey);
        object Body(bool stream) => path.Contains("chat", StringComparison.Ordinal)
            ? new { model = TokenGridServer.Model, messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 3, n, temperature = 0, stream }
            : new { model = TokenGridServer.Model, prompt = "Hi", max_tokens = 3, n, temperature = 0, stream, stream_options = stream ? new { include_usage = true } : null };

        var whole = await (await client.PostJsonAsync(path, Body(stream: false))).ReadJsonAsync();
        Assert.Equal(expected, whole["system_fingerprint"]?.GetValue<string>());

        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(JsonSerializer.Serialize(Body(stream: true)), Encoding.UTF8, "application/json"),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        var chunks = 0;
        while (await events.ReadJsonAsync() is { } chunk)
        {
            chunks++;
            Assert.True(expected == chunk["system_fingerprint"]?.GetValue<string>(), $"chunk {chunks}: {chunk.ToJsonString()}");
        }

        Assert.True(chunks >= 2, $"only {chunks} chunks");
    }

    private async Task<string> FingerprintAsync()
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var models = await (await admin.GetAsync("admin/models")).ReadJsonAsync();
        var demo = models["data"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == TokenGridServer.Model)!;
        var fingerprint = demo["fingerprint"]!.GetValue<string>();
        Assert.Matches("^fp_[0-9a-f]{16}$", fingerprint);
        return fingerprint;
    }
}
