using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using TokenGrid.Grains.Catalog;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>Calls of the OpenAI endpoints as JSON (for the fields the SDK does not expose) and through the official SDK.</summary>
public static class CompletionCalls
{
    /// <summary>The official SDK's chat client for the demo tenant.</summary>
    public static ChatClient Chat(this TokenGridServer server, string key = TokenGridServer.DemoKey) =>
        new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1") })
            .GetChatClient(TokenGridServer.Model);

    /// <summary>The demo model as the silo serves it (for its tokenizer).</summary>
    public static CatalogModel DemoModel(this TokenGridServer server) =>
        server.Services.GetRequiredService<ModelCatalog>().TryGet(TokenGridServer.Model, out var model) ? model
            : throw new InvalidOperationException("The demo model is not served.");

    /// <summary>POSTs <paramref name="body"/> (JSON text) and returns the 200 reply's body.</summary>
    public static async Task<JsonObject> PostOkAsync(this HttpClient client, string path, string body)
    {
        var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        return await response.ReadJsonAsync();
    }

    /// <summary>POSTs a streaming request and returns its chunks (without <c>[DONE]</c>, which it asserts).</summary>
    public static async Task<List<JsonObject>> StreamAsync(this HttpClient client, string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        var chunks = new List<JsonObject>();
        while (await events.ReadAsync() is { } e)
        {
            if (e.Data == "[DONE]")
            {
                return chunks;
            }

            chunks.Add(JsonNode.Parse(e.Data)!.AsObject());
        }

        Assert.Fail("The stream ended without [DONE].");
        return chunks;
    }

    /// <summary>The text of a completion reply's first choice.</summary>
    public static string Text(this JsonObject completion) => completion["choices"]![0]!["text"]!.GetValue<string>();
}
