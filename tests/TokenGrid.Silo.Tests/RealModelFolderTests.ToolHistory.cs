using System.ClientModel;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// A tool call sent back in the history, as OpenAI clients send it, on templates that are particular about it: Mistral
/// Nemo's refuses ids that are not 9 characters; DeepSeek V3's writes a call only when the message's content is null,
/// and concatenates the arguments string. The prompt must be the one Hugging Face's own tools make of it.
/// </summary>
public sealed partial class RealModelFolderTests
{
    private const string Mistral = "mistral_nemo";

    private ChatClient Chat(string model) =>
        new OpenAIClient(new ApiKeyCredential(TokenGridServer.DemoKey), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.BaseAddress, "v1") })
            .GetChatClient(model);

    [Fact]
    public async Task A_Mistral_tool_call_goes_back_to_the_model_with_the_id_it_was_given()
    {
        var options = new ChatCompletionOptions { Tools = { s_weather }, ToolChoice = ChatToolChoice.CreateRequiredChoice(), MaxOutputTokenCount = 120 };
        List<ChatMessage> conversation = [new UserChatMessage("Weather in Oslo?")];
        ChatCompletion first = await Chat(Mistral).CompleteChatAsync(conversation, options);
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        Assert.NotEmpty(first.ToolCalls);
        Assert.All(first.ToolCalls, call => Assert.Matches("^[A-Za-z0-9]{9}$", call.Id));

        conversation.Add(new AssistantChatMessage(first));
        conversation.AddRange(first.ToolCalls.Select(call => new ToolChatMessage(call.Id, "12 degrees")));
        ChatCompletion second = await Chat(Mistral).CompleteChatAsync(conversation, new ChatCompletionOptions { Tools = { s_weather }, MaxOutputTokenCount = 1, Temperature = 0 });
        Assert.True(second.Usage.InputTokenCount > first.Usage.InputTokenCount);
    }

    [Fact]
    public async Task A_Mistral_template_is_given_the_ids_of_other_providers_as_9_characters()
    {
        const string Foreign = "call_NtsBU7zZFaI85rorlbIDfXQy";
        var tools = JsonNode.Parse("""
            [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object",
              "properties": {"city": {"type": "string", "enum": ["Paris"]}}, "required": ["city"], "additionalProperties": false}}}]
            """)!.AsArray();
        var reply = await PostChatAsync(Mistral, ToolHistory(Foreign, "{\"city\":\"Paris\"}", system: false), tools);

        // vLLM truncates such ids to their last 9 characters; transformers gets the same history with those ids.
        var reference = ToHuggingFace(ToolHistory("rlbIDfXQy", "{\"city\":\"Paris\"}", system: false));
        var (text, ids) = await ReferenceTools.ChatPromptAsync(fixture.Folders[Mistral], new JsonObject { ["messages"] = reference, ["tools"] = tools.DeepClone() });
        Assert.Contains("\"call_id\": \"rlbIDfXQy\"", text);
        Assert.Equal(ids.Length, (int)reply["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task A_DeepSeek_V3_tool_call_with_null_content_reaches_the_prompt_as_Hugging_Face_renders_it()
    {
        var messages = ToolHistory("call_abc123456", "{\"city\": \"Paris\"}", system: true);
        var reply = await PostChatAsync("deepseek_v3", messages, tools: null);

        // DeepSeek V3's template takes the arguments as the string OpenAI clients send.
        var (text, ids) = await ReferenceTools.ChatPromptAsync(fixture.Folders["deepseek_v3"], new JsonObject { ["messages"] = messages.DeepClone() });
        Assert.Contains("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```", text);
        Assert.Equal(ids.Length, (int)reply["usage"]!["prompt_tokens"]!);
    }

    /// <summary>A question, the assistant's call as the OpenAI SDKs send it back (content null), and the tool's answer.</summary>
    private static JsonArray ToolHistory(string id, string arguments, bool system)
    {
        var messages = new JsonArray();
        if (system)
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = "Be brief." });
        }

        messages.Add(new JsonObject { ["role"] = "user", ["content"] = "Weather in Paris?" });
        messages.Add(new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = null,
            ["tool_calls"] = new JsonArray(new JsonObject
            {
                ["id"] = id, ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = arguments },
            }),
        });
        messages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = id, ["content"] = "21C" });
        return messages;
    }

    private async Task<JsonNode> PostChatAsync(string model, JsonArray messages, JsonArray? tools)
    {
        var body = new JsonObject { ["model"] = model, ["messages"] = messages.DeepClone(), ["max_tokens"] = 1, ["temperature"] = 0 };
        if (tools is not null)
        {
            body["tools"] = tools.DeepClone();
        }

        using var client = fixture.Server.Client(TokenGridServer.DemoKey);
        var response = await client.PostJsonAsync("v1/chat/completions", body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.ReadJsonAsync();
    }
}
