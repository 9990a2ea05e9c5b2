using System.ClientModel;
using System.Net;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>The official OpenAI .NET SDK (and plain HTTP for legacy completions, which the SDK no longer exposes) against a real Kestrel server.</summary>
[Collection(ServerCollection.Name)]
public sealed class OpenAiCompatibilityTests(ServerFixture fixture)
{
    private TokenGridServer Server => fixture.Server;

    private ChatClient Chat(string model = TokenGridServer.Model) =>
        new OpenAIClient(new ApiKeyCredential(TokenGridServer.DemoKey), new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "v1") })
            .GetChatClient(model);

    [Fact]
    public async Task Sdk_chat_completion_returns_text_and_usage()
    {
        ChatCompletion reply = await Chat().CompleteChatAsync(
            [new UserChatMessage("Say hello.")], new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 0 });

        Assert.Equal(ChatMessageRole.Assistant, reply.Role);
        Assert.StartsWith("chatcmpl-job_", reply.Id);
        Assert.Equal(TokenGridServer.Model, reply.Model);
        Assert.True(reply.Usage.InputTokenCount > 0);
        Assert.InRange(reply.Usage.OutputTokenCount, 1, 8);
        Assert.Equal(reply.Usage.InputTokenCount + reply.Usage.OutputTokenCount, reply.Usage.TotalTokenCount);
        Assert.Contains(reply.FinishReason, new[] { ChatFinishReason.Length, ChatFinishReason.Stop });
    }

    [Fact]
    public async Task Sdk_streams_chat_completion_with_usage()
    {
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var updates = 0;
        await foreach (var update in Chat().CompleteChatStreamingAsync(
            [new SystemChatMessage("You are terse."), new UserChatMessage("Count.")],
            new ChatCompletionOptions { MaxOutputTokenCount = 6, Temperature = 0.7f, TopP = 0.9f }))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.True(updates >= 3, $"only {updates} updates");
        Assert.NotNull(finish);
        Assert.NotNull(usage);
        Assert.InRange(usage.OutputTokenCount, 1, 6);
        Assert.True(usage.InputTokenCount > 0);
    }

    [Fact]
    public async Task Sdk_surfaces_our_error_message_for_an_unknown_model()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat("no-such-model").CompleteChatAsync("Hi"));

        Assert.Equal(404, error.Status);
        Assert.Contains("The model 'no-such-model' does not exist.", error.Message);
    }

    [Fact]
    public async Task Text_completion_returns_text_and_usage()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var response = await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Once upon a time", max_tokens = 5, temperature = 0 });
        response.AssertRateLimitHeaders();
        var body = await response.ReadJsonAsync();

        Assert.Equal("text_completion", body["object"]!.GetValue<string>());
        Assert.StartsWith("cmpl-job_", body["id"]!.GetValue<string>());
        var choice = body["choices"]![0]!;
        Assert.Equal(0, choice["index"]!.GetValue<int>());
        Assert.Equal("length", choice["finish_reason"]!.GetValue<string>());
        Assert.Null(choice["logprobs"]);
        var usage = body["usage"]!;
        Assert.Equal(4, usage["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(5, usage["completion_tokens"]!.GetValue<int>());
        Assert.Equal(9, usage["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Text_completion_accepts_token_ids_and_streams_with_usage_and_done()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = new StringContent(
                """{"model":"demo","prompt":[9906,1917],"max_tokens":4,"temperature":0,"stream":true,"stream_options":{"include_usage":true},"stop":["\n\n\n\n"]}""",
                Encoding.UTF8, "application/json"),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        response.AssertRateLimitHeaders();

        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        var chunks = new List<System.Text.Json.Nodes.JsonObject>();
        var sawDone = false;
        while (await events.ReadAsync() is { } e)
        {
            if (e.Data == "[DONE]")
            {
                sawDone = true;
                break;
            }

            chunks.Add(System.Text.Json.Nodes.JsonNode.Parse(e.Data)!.AsObject());
        }

        Assert.True(sawDone);
        Assert.All(chunks, c => Assert.Equal("text_completion", c["object"]!.GetValue<string>()));
        var last = chunks[^1];
        Assert.Empty(last["choices"]!.AsArray());
        Assert.Equal(2, last["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(4, last["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal("length", chunks[^2]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.All(chunks.Take(chunks.Count - 2), c => Assert.Null(c["usage"]));
    }

    [Fact]
    public async Task Models_are_listed_like_openai()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var response = await client.GetAsync("v1/models");
        response.AssertRateLimitHeaders();
        var body = await response.ReadJsonAsync();

        Assert.Equal("list", body["object"]!.GetValue<string>());
        var model = body["data"]![0]!;
        Assert.Equal("demo", model["id"]!.GetValue<string>());
        Assert.Equal("model", model["object"]!.GetValue<string>());

        var sdkModels = await new OpenAIClient(new ApiKeyCredential(TokenGridServer.DemoKey), new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "v1") })
            .GetOpenAIModelClient().GetModelsAsync();
        Assert.Contains(sdkModels.Value, m => m.Id == "demo");
    }

    [Fact]
    public async Task A_configured_demo_key_works()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var usage = await (await client.GetAsync("v1/usage")).ReadJsonAsync();
        Assert.Equal(TokenGridServer.DemoTenant, usage["tenant_id"]!.GetValue<string>());
    }
}
