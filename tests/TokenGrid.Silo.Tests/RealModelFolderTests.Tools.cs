using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using TokenGrid.Silo.Tests.Support;

#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; the tool calls sample at temperature 1, seeded so every run is the same.

namespace TokenGrid.Silo.Tests;

/// <summary>
/// Tool calling on a real model folder (Qwen 3's tokenizer and chat template, random weights), through the official
/// .NET SDK and the <c>openai</c> npm package: a forced call is decoded under its function's parameters, so even random
/// weights give a well-formed call; the tools reach the template; tool results go back in a second turn.
/// </summary>
public sealed partial class RealModelFolderTests
{
    private const string Qwen = "qwen3";

    private static readonly ChatTool s_weather = ChatTool.CreateFunctionTool(
        "get_weather",
        "The weather in a city.",
        BinaryData.FromString("""
            {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
             "required": ["city", "unit"], "additionalProperties": false}
            """));

    private static readonly ChatTool s_time = ChatTool.CreateFunctionTool(
        "get_time", "The time in a zone.", BinaryData.FromString("""{"type": "object", "properties": {"zone": {"type": "string", "format": "uuid"}}, "required": ["zone"]}"""));

    private ChatClient QwenChat() =>
        new OpenAIClient(new ApiKeyCredential(TokenGridServer.DemoKey), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.BaseAddress, "v1") })
            .GetChatClient(Qwen);

    private static void AssertWeatherArguments(string arguments)
    {
        using var json = JsonDocument.Parse(arguments);
        Assert.Equal(["city", "unit"], json.RootElement.EnumerateObject().Select(p => p.Name).Order());
        Assert.InRange(json.RootElement.GetProperty("city").GetString()!.EnumerateRunes().Count(), 0, 20);
        Assert.Contains(json.RootElement.GetProperty("unit").GetString(), (string[])["celsius", "fahrenheit"]);
    }

    [Fact]
    public async Task A_required_tool_call_comes_back_as_tool_calls_with_valid_arguments()
    {
        var options = new ChatCompletionOptions { Tools = { s_weather, s_time }, ToolChoice = ChatToolChoice.CreateRequiredChoice(), MaxOutputTokenCount = 120, Seed = 11 };
        ChatCompletion reply = await QwenChat().CompleteChatAsync([new UserChatMessage("Weather in Oslo, and the time?")], options);

        Assert.Equal(ChatFinishReason.ToolCalls, reply.FinishReason);
        Assert.NotEmpty(reply.ToolCalls);
        foreach (var call in reply.ToolCalls)
        {
            Assert.StartsWith("call_", call.Id);
            Assert.Contains(call.FunctionName, (string[])["get_weather", "get_time"]);
            using var arguments = JsonDocument.Parse(call.FunctionArguments.ToString());
            if (call.FunctionName == "get_weather")
            {
                AssertWeatherArguments(call.FunctionArguments.ToString());
            }
            else
            {
                Assert.True(Guid.TryParse(arguments.RootElement.GetProperty("zone").GetString(), out _));
            }
        }
    }

    [Fact]
    public async Task A_named_tool_call_streams_as_tool_call_deltas()
    {
        var options = new ChatCompletionOptions { Tools = { s_weather, s_time }, ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather"), MaxOutputTokenCount = 120, Seed = 11 };
        var names = new StringBuilder();
        var arguments = new StringBuilder();
        string? id = null;
        ChatFinishReason? finish = null;
        await foreach (var update in QwenChat().CompleteChatStreamingAsync([new UserChatMessage("Weather in Oslo?")], options))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                Assert.Equal(0, call.Index);
                id ??= call.ToolCallId;
                names.Append(call.FunctionName);
                arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.StartsWith("call_", id);
        Assert.Equal("get_weather", names.ToString());
        AssertWeatherArguments(arguments.ToString());
    }

    [Fact]
    public async Task A_tool_result_goes_back_to_the_model_in_a_second_turn()
    {
        var options = new ChatCompletionOptions { Tools = { s_weather }, ToolChoice = ChatToolChoice.CreateRequiredChoice(), MaxOutputTokenCount = 120, Seed = 11 };
        List<ChatMessage> conversation = [new UserChatMessage("Weather in Oslo?")];
        ChatCompletion first = await QwenChat().CompleteChatAsync(conversation, options);
        conversation.Add(new AssistantChatMessage(first));
        conversation.Add(new ToolChatMessage(first.ToolCalls[0].Id, "12 degrees"));

        ChatCompletion second = await QwenChat().CompleteChatAsync(conversation, new ChatCompletionOptions { Tools = { s_weather }, MaxOutputTokenCount = 3, Temperature = 0 });
        Assert.True(second.Usage.InputTokenCount > first.Usage.InputTokenCount);
        Assert.NotEqual(ChatFinishReason.ToolCalls, second.FinishReason);
    }

    [Fact]
    public async Task Tools_reach_the_chat_template()
    {
        // The prompt grows by what Qwen 3's template writes for the tools (its <tools> section): they were rendered.
        var without = await QwenChat().CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions { MaxOutputTokenCount = 1 });
        var with = await QwenChat().CompleteChatAsync(
            [new UserChatMessage("Hi")], new ChatCompletionOptions { Tools = { s_weather }, ToolChoice = ChatToolChoice.CreateNoneChoice(), MaxOutputTokenCount = 1 });
        Assert.True(with.Value.Usage.InputTokenCount > without.Value.Usage.InputTokenCount + 40);
        Assert.Empty(with.Value.ToolCalls);
    }

    [Fact]
    public async Task The_npm_client_calls_tools_and_gets_structured_outputs()
    {
        var result = await ReferenceTools.OpenAiToolsAsync(new Uri(fixture.Server.BaseAddress, "v1"), TokenGridServer.DemoKey, Qwen);

        var required = result["required"]!;
        Assert.Equal("tool_calls", (string?)required["finish"]);
        AssertWeatherArguments((string)required["calls"]![0]!["function"]!["arguments"]!);

        var named = result["namedStream"]!;
        Assert.Equal("tool_calls", (string?)named["finish"]);
        Assert.Equal("get_weather", (string?)named["calls"]![0]!["name"]);
        AssertWeatherArguments((string)named["calls"]![0]!["arguments"]!);
        Assert.Equal(1, (int)named["maxEntries"]!);

        // The SDK's stream helper saw each call's argument deltas before its done, and they add up to its arguments.
        var helper = result["streamHelper"]!;
        var events = helper["events"]!.AsArray();
        var calls = helper["calls"]!.AsArray();
        Assert.NotEmpty(calls);
        for (var call = 0; call < calls.Count; call++)
        {
            var own = events.Where(e => (int)e!["index"]! == call).ToList();
            Assert.Equal("done", (string?)own[^1]!["kind"]);
            Assert.All(own[..^1], e => Assert.Equal("delta", (string?)e!["kind"]));
            Assert.Equal((string?)calls[call], string.Concat(own[..^1].Select(e => (string?)e!["text"])));
            Assert.Equal((string?)calls[call], (string?)own[^1]!["text"]);
        }

        Assert.True((int)result["secondTurn"]!["usage"]!["prompt_tokens"]! > 0, result["secondTurn"]!.ToJsonString());
        Assert.Equal("stop", (string?)result["jsonSchema"]!["finish"]);
        AssertWeatherArguments((string)result["jsonSchema"]!["content"]!);
        Assert.Equal(400, (int?)result["toolChoiceWithoutTools"]!["error"]!["status"]);
        Assert.Equal("tool_choice", (string?)result["toolChoiceWithoutTools"]!["error"]!["param"]);
    }

    [Theory]
    [InlineData("""{"tools": [{"type": "retrieval"}]}""", "tools[0].type")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "a b"}}]}""", "tools[0].function.name")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}]}""", "tools[1].function.name")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}}""", "tool_choice.function.name")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "sometimes"}""", "tool_choice")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "patternProperties": {"^x": {}}}}}], "tool_choice": "required"}""", "tools[0].function.parameters")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "g", "parameters": {"type": "object", "properties": {"q": {"type": "string", "patternProperties": {"^x": {}}}}}}}], "tool_choice": {"type": "function", "function": {"name": "g"}}}""", "tools[1].function.parameters")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required", "response_format": {"type": "json_object"}}""", "tool_choice")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required", "min_tokens": 1}""", "min_tokens")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required", "stop": ["x"]}""", "stop")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f"}}], "parallel_tool_calls": false, "min_tokens": 1}""", "min_tokens")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f"}, "foo": 1}]}""", "tools[0].foo")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f", "paramaters": {"type": "object"}}}]}""", "tools[0].function.paramaters")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "f"}, "foo": 1}}""", "tool_choice.foo")]
    [InlineData("""{"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "f", "foo": 1}}}""", "tool_choice.function.foo")]
    public async Task Bad_tool_fields_are_400_naming_them(string fields, string param)
    {
        var body = JsonNode.Parse(fields)!.AsObject();
        body["model"] = Qwen;
        body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hi" });
        body["max_tokens"] = 2;
        using var client = fixture.Server.Client(TokenGridServer.DemoKey);
        var problem = await (await client.PostJsonAsync("v1/chat/completions", body)).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(param, (string)problem["error"]!["param"]!);
    }

    [Fact]
    public async Task Min_tokens_is_taken_with_auto_calls_that_repeat()
    {
        // Parallel calls (the default): a completed call only starts the watch for the next one, so nothing ends the
        // output before min_tokens, and the request is not refused.
        var body = await AutoCallBodyAsync(parallel: null, maxTokens: 3);
        body["min_tokens"] = 3;
        using var client = fixture.Server.Client(TokenGridServer.DemoKey);
        var reply = await (await client.PostJsonAsync("v1/chat/completions", body)).ReadJsonAsync();

        Assert.Equal(3, (int)reply["usage"]!["completion_tokens"]!);
    }

    /// <summary>A chat body for auto tool choice on Qwen 3, with a bias that makes these random weights open a call whenever they may.</summary>
    private async Task<JsonObject> AutoCallBodyAsync(bool? parallel, int maxTokens = 120)
    {
        // Qwen 3 opens a call with its <tool_call> token.
        var tokenizer = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(fixture.Folders[Qwen], "tokenizer.json")))!;
        var opening = tokenizer["added_tokens"]!.AsArray().Single(t => (string)t!["content"]! == "<tool_call>")!["id"]!.GetValue<int>();
        var body = new JsonObject
        {
            ["model"] = Qwen,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Weather in Oslo?" }),
            ["tools"] = JsonNode.Parse("""
                [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20},
                  "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"], "additionalProperties": false}}}]
                """),
            ["logit_bias"] = new JsonObject { [opening.ToString(System.Globalization.CultureInfo.InvariantCulture)] = 100 },
            ["max_tokens"] = maxTokens,
            ["seed"] = 11,
        };
        if (parallel is { } value)
        {
            body["parallel_tool_calls"] = value;
        }

        return body;
    }

    [Fact]
    public async Task An_auto_call_the_model_opens_is_held_to_the_parameters()
    {
        using var client = fixture.Server.Client(TokenGridServer.DemoKey);
        var reply = await (await client.PostJsonAsync("v1/chat/completions", await AutoCallBodyAsync(parallel: false))).ReadJsonAsync();

        // One call at most: the reply ends with it.
        var choice = reply["choices"]![0]!;
        Assert.Equal("tool_calls", (string?)choice["finish_reason"]);
        var call = Assert.Single(choice["message"]!["tool_calls"]!.AsArray())!;
        Assert.Equal("get_weather", (string?)call["function"]!["name"]);
        AssertWeatherArguments((string)call["function"]!["arguments"]!);
    }

    [Fact]
    public async Task Parallel_auto_calls_are_each_held_to_the_parameters()
    {
        // parallel_tool_calls is true by default: the reply goes on after a call, and each call the model opens is held.
        using var client = fixture.Server.Client(TokenGridServer.DemoKey);
        var reply = await (await client.PostJsonAsync("v1/chat/completions", await AutoCallBodyAsync(parallel: null, maxTokens: 300))).ReadJsonAsync();

        var choice = reply["choices"]![0]!;
        var calls = choice["message"]!["tool_calls"]?.AsArray() ?? [];
        Assert.True(calls.Count >= 2, $"Expected several calls: {reply.ToJsonString()}");
        foreach (var call in calls)
        {
            Assert.Equal("get_weather", (string?)call!["function"]!["name"]);
            AssertWeatherArguments((string)call["function"]!["arguments"]!);
        }

        Assert.Equal(300, (int)reply["usage"]!["completion_tokens"]!);
        Assert.Equal("length", (string?)choice["finish_reason"]);
    }
}
