using System.ClientModel;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Responses;
using TokenGrid.Silo.Tests.Support;

#pragma warning disable OPENAI001 // The .NET SDK's Responses client is marked experimental.

namespace TokenGrid.Silo.Tests;

/// <summary>
/// Function tools on the Responses API (<c>POST /v1/responses</c>) on Qwen 3's real chat template, through the
/// <c>openai</c> npm package (tests/reference/openai-responses.mjs --tools), the .NET SDK's <see cref="ResponsesClient"/>
/// and the Vercel AI SDK's default <c>openai(model)</c> (tests/reference/ai-sdk.mjs --tools): a forced call is decoded
/// under its function's parameters (chat's machinery), comes back as a <c>function_call</c> output item, streams as
/// OpenAI's events, and goes back with its output in the next turn. Each tenant's usage is what the ledger charged.
/// </summary>
public sealed partial class RealModelFolderTests
{
    private static string Str(JsonNode? node, string name) => node![name]!.GetValue<string>();

    private static (int Input, int Output) UsageOf(JsonNode response) =>
        (response["usage"]!["input_tokens"]!.GetValue<int>(), response["usage"]!["output_tokens"]!.GetValue<int>());

    private static JsonNode Call(JsonNode response) =>
        Assert.Single(response["output"]!.AsArray(), item => Str(item, "type") == "function_call")!;

    [Fact]
    public async Task The_npm_client_gets_function_calls_streams_them_and_sends_their_output_back()
    {
        var (tenant, key) = await fixture.Server.CreateTenantAsync();
        var results = await ReferenceTools.ResponsesToolsAsync("openai-responses.mjs", new Uri(fixture.Server.BaseAddress, "v1"), key, Qwen);
        JsonNode Ok(string name) => results[name]?["error"] is null ? results[name]! : throw new Xunit.Sdk.XunitException($"{name}: {results[name]!.ToJsonString()}");

        // required, not in parallel: one function_call item, no message, the arguments held to the parameters.
        var required = Ok("required");
        Assert.Equal("completed", Str(required, "status"));
        var call = Assert.Single(required["output"]!.AsArray())!;
        Assert.Equal(("function_call", "completed"), (Str(call, "type"), Str(call, "status")));
        Assert.StartsWith("call_", Str(call, "call_id"), StringComparison.Ordinal);
        Assert.StartsWith("fc_", Str(call, "id"), StringComparison.Ordinal);
        Assert.Contains(Str(call, "name"), (string[])["get_weather", "get_time"]);
        if (Str(call, "name") == "get_weather")
        {
            AssertWeatherArguments(Str(call, "arguments"));
        }

        Assert.Equal("required", required["toolChoice"]!.GetValue<string>());
        Assert.Equal(["get_weather", "get_time"], required["tools"]!.AsArray().Select(t => Str(t, "name")));

        // Named, through the stream helper: the item added, its argument deltas, their done, the item done, all at
        // output_index 0 and in sequence; finalResponse() assembled the same call.
        var named = Ok("namedStream");
        var events = named["events"]!.AsArray();
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e!["sequence"]!.GetValue<int>()));
        var types = events.Select(e => Str(e, "type")).ToList();
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added"], types.Take(3));
        Assert.Equal(["response.function_call_arguments.done", "response.output_item.done", "response.completed"], types.TakeLast(3));
        Assert.All(types.Skip(3).SkipLast(3), t => Assert.Equal("response.function_call_arguments.delta", t));
        Assert.True(types.Count > 6, "the arguments came in deltas");
        var itemEvents = events.Where(e => Str(e, "type") is not ("response.created" or "response.in_progress" or "response.completed")).ToList();
        Assert.All(itemEvents, e => Assert.Equal(0, e!["outputIndex"]!.GetValue<int>()));
        var finalCall = Call(named);
        Assert.All(itemEvents, e => Assert.Equal(Str(finalCall, "id"), Str(e, "itemId")));
        Assert.Equal(("get_weather", "in_progress", ""), (Str(events[2]!["item"], "name"), Str(events[2]!["item"], "status"), Str(events[2]!["item"], "arguments")));
        var deltas = string.Concat(events.Where(e => Str(e, "type") == "response.function_call_arguments.delta").Select(e => Str(e, "delta")));
        Assert.Equal(deltas, Str(events[^3], "arguments"));
        Assert.Equal(deltas, Str(finalCall, "arguments"));
        Assert.Equal(("get_weather", "completed"), (Str(finalCall, "name"), Str(finalCall, "status")));
        Assert.Equal(Str(events[^2]!["item"], "call_id"), Str(finalCall, "call_id"));
        AssertWeatherArguments(deltas);

        // The round trip: the second turn's input holds the call and its output (its prompt is longer), and it answers in text.
        var trip = Ok("roundTrip");
        var second = trip["second"]!;
        Assert.True(UsageOf(second).Input > UsageOf(trip["first"]!).Input + 10, trip.ToJsonString());
        var message = Assert.Single(second["output"]!.AsArray())!;
        Assert.Equal("message", Str(message, "type"));
        Assert.Equal(4, UsageOf(second).Output);

        AssertRefusal(results, "unknownCallId", "invalid_value", "input[1].call_id");
        AssertRefusal(results, "callIdNotString", "invalid_value", "input[1].call_id");
        AssertRefusal(results, "webSearch", "unsupported_parameter", "tools[1].type");
        AssertRefusal(results, "badChoice", "invalid_value", "tool_choice.name");
        AssertRefusal(results, "chatChoice", "unrecognized_argument", "tool_choice.function");

        // Usage as charged: the tenant's charges are the replies' tokens, summed.
        var replies = new[] { required, named, trip["first"]!, second };
        Assert.Equal((replies.Sum(r => UsageOf(r).Input), replies.Sum(r => UsageOf(r).Output)), await fixture.Server.ChargedAsync(tenant));
    }

    private static void AssertRefusal(JsonObject results, string name, string code, string param)
    {
        var error = results[name]?["error"];
        Assert.True(error is not null, $"{name}: {results[name]?.ToJsonString()}");
        Assert.Equal((400, code, param), (error["status"]!.GetValue<int>(), Str(error, "code"), Str(error, "param")));
    }

    [Theory]
    [InlineData("""{"tools": [{"type": "function", "name": "a b"}]}""", "invalid_value", "tools[0].name")]
    [InlineData("""{"tools": [{"type": "function", "name": "f"}, {"type": "function", "name": "f"}]}""", "invalid_value", "tools[1].name")]
    [InlineData("""{"tools": [{"type": "function", "name": "f", "parameters": []}]}""", "invalid_value", "tools[0].parameters")]
    [InlineData("""{"tools": [{"type": "function", "name": "f", "strict": "yes"}]}""", "invalid_value", "tools[0].strict")]
    [InlineData("""{"tools": [{"type": "function", "name": "f", "defer_loading": true}]}""", "unrecognized_argument", "tools[0].defer_loading")]
    [InlineData("""{"tools": [{"type": "function", "name": "f"}, {"type": "mcp", "server_label": "x"}]}""", "unsupported_parameter", "tools[1].type")]
    [InlineData("""{"tools": [{"type": "function", "name": "f"}], "tool_choice": "sometimes"}""", "invalid_value", "tool_choice")]
    [InlineData("""{"tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "function"}}""", "invalid_value", "tool_choice")]
    [InlineData("""{"tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "function", "name": "f", "x": 1}}""", "unrecognized_argument", "tool_choice.x")]
    [InlineData("""{"tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "web_search_preview"}}""", "unsupported_parameter", "tool_choice.type")]
    [InlineData("""{"tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": []}}""", "unsupported_parameter", "tool_choice.type")]
    [InlineData("""{"tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "patternProperties": {"^x": {}}}}], "tool_choice": "required"}""", "unsupported_schema", "tools[0].parameters")]
    [InlineData("""{"tools": [{"type": "function", "name": "f"}], "tool_choice": "required", "text": {"format": {"type": "json_object"}}}""", "invalid_value", "tool_choice")]
    [InlineData("""{"tools": [{"type": "function", "name": "f"}], "include": ["message.output_text.logprobs"]}""", "unsupported_parameter", "include")]
    [InlineData("""{"tools": [{"type": "function", "name": "f"}], "max_tool_calls": 2}""", "unsupported_parameter", "max_tool_calls")]
    public async Task Bad_responses_tool_fields_are_400_naming_them(string fields, string code, string param)
    {
        var body = JsonNode.Parse(fields)!.AsObject();
        body["model"] = Qwen;
        body["input"] = "Hi";
        body["max_output_tokens"] = 2;
        using var client = fixture.Server.Client(TokenGridServer.DemoKey);
        var problem = await (await client.PostJsonAsync("v1/responses", body)).AssertProblemAsync(System.Net.HttpStatusCode.BadRequest, code);
        Assert.Equal(param, Str(problem["error"], "param"));
    }

    [Fact]
    public async Task Logprobs_with_tools_that_cannot_be_called_are_on_the_text()
    {
        // tool_choice none: no call is read, so each token of the text is the text's.
        using var client = fixture.Server.Client(TokenGridServer.DemoKey);
        var reply = await client.PostOkAsync("v1/responses", new JsonObject
        {
            ["model"] = Qwen, ["input"] = "Hi", ["max_output_tokens"] = 3, ["temperature"] = 0, ["tool_choice"] = "none", ["top_logprobs"] = 2,
            ["tools"] = JsonNode.Parse("""[{"type": "function", "name": "f"}]"""), ["include"] = new JsonArray("message.output_text.logprobs"),
        }.ToJsonString());
        var part = Assert.Single(Assert.Single(reply["output"]!.AsArray())!["content"]!.AsArray())!;
        Assert.Equal(reply["usage"]!["output_tokens"]!.GetValue<int>(), part["logprobs"]!.AsArray().Count);
        Assert.All(part["logprobs"]!.AsArray(), t => Assert.Equal(2, t!["top_logprobs"]!.AsArray().Count));
        Assert.Equal(2, reply["top_logprobs"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_dotnet_sdk_responses_client_calls_a_function_and_answers_its_output()
    {
        var (tenant, key) = await fixture.Server.CreateTenantAsync();
        var responses = new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.BaseAddress, "v1") })
            .GetResponsesClient();
        var weather = ResponseTool.CreateFunctionTool(
            "get_weather",
            BinaryData.FromString("""
                {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                 "required": ["city", "unit"], "additionalProperties": false}
                """),
            strictModeEnabled: true,
            functionDescription: "The weather in a city.");
        List<ResponseItem> input = [ResponseItem.CreateUserMessageItem("Weather in Oslo?")];
        var options = new CreateResponseOptions(Qwen, input) { MaxOutputTokenCount = 120, ToolChoice = ResponseToolChoice.CreateFunctionChoice("get_weather") };
        options.Tools.Add(weather);

        ResponseResult first = await responses.CreateResponseAsync(options);
        Assert.Equal(ResponseStatus.Completed, first.Status);
        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(first.OutputItems));
        Assert.Equal("get_weather", call.FunctionName);
        Assert.StartsWith("call_", call.CallId, StringComparison.Ordinal);
        AssertWeatherArguments(call.FunctionArguments.ToString());

        // Streamed: the SDK's argument deltas add up to the call it reports done.
        var streaming = new CreateResponseOptions(Qwen, input) { MaxOutputTokenCount = 120, ToolChoice = ResponseToolChoice.CreateRequiredChoice(), StreamingEnabled = true };
        streaming.Tools.Add(weather);
        var arguments = new StringBuilder();
        FunctionCallResponseItem? done = null;
        ResponseResult? streamed = null;
        await foreach (var update in await responses.CreateResponseStreamingAsync(streaming))
        {
            switch (update)
            {
                case StreamingResponseFunctionCallArgumentsDeltaUpdate delta:
                    arguments.Append(delta.Delta);
                    break;
                case StreamingResponseOutputItemDoneUpdate { Item: FunctionCallResponseItem item }:
                    done = item;
                    break;
                case StreamingResponseCompletedUpdate completed:
                    streamed = completed.Response;
                    break;
            }
        }

        Assert.NotNull(done);
        Assert.NotNull(streamed);
        Assert.Equal(done.FunctionArguments.ToString(), arguments.ToString());
        AssertWeatherArguments(arguments.ToString());

        // The call and its output go back, and the model answers in text.
        var next = new CreateResponseOptions(Qwen, [.. input, call, ResponseItem.CreateFunctionCallOutputItem(call.CallId, "12 degrees")])
        {
            MaxOutputTokenCount = 3,
            Temperature = 0,
            ToolChoice = ResponseToolChoice.CreateNoneChoice(),
        };
        next.Tools.Add(weather);
        ResponseResult second = await responses.CreateResponseAsync(next);
        Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(second.OutputItems));
        Assert.True(second.Usage.InputTokenCount > first.Usage.InputTokenCount);

        ResponseResult[] replies = [first, streamed, second];
        Assert.Equal(
            (replies.Sum(r => r.Usage.InputTokenCount), replies.Sum(r => r.Usage.OutputTokenCount)), await fixture.Server.ChargedAsync(tenant));
    }

    [Fact]
    public async Task The_ai_sdks_default_provider_calls_a_tool_and_answers_its_result()
    {
        var (tenant, key) = await fixture.Server.CreateTenantAsync();
        var results = await ReferenceTools.ResponsesToolsAsync("ai-sdk.mjs", new Uri(fixture.Server.BaseAddress, "v1"), key, Qwen);

        // generateText with the tool forced: the SDK ran it, sent the function_call and its function_call_output back,
        // and the second step answered in text.
        var generate = results["generate"]!;
        Assert.True(generate["error"] is null, generate.ToJsonString());
        var steps = generate["steps"]!.AsArray();
        Assert.Equal(2, steps.Count);
        Assert.Equal(("tool-calls", 1), (Str(steps[0], "finish"), steps[0]!["results"]!.GetValue<int>()));
        var call = Assert.Single(steps[0]!["toolCalls"]!.AsArray())!;
        Assert.Equal("getWeather", Str(call, "name"));
        AssertWeatherArguments(call["input"]!.ToJsonString());
        Assert.Empty(steps[1]!["toolCalls"]!.AsArray());
        Assert.Equal(4, steps[1]!["usage"]!["outputTokens"]!.GetValue<int>());
        Assert.True(steps[1]!["usage"]!["inputTokens"]!.GetValue<int>() > steps[0]!["usage"]!["inputTokens"]!.GetValue<int>());

        // streamText: the call's input streamed as tool-input deltas, then the call.
        var stream = results["stream"]!;
        Assert.True(stream["error"] is null, stream.ToJsonString());
        Assert.Equal("tool-calls", Str(stream, "finish"));
        var parts = stream["parts"]!.AsArray().Select(p => Str(p, "type")).ToList();
        Assert.Equal("tool-input-start", parts[0]);
        Assert.Contains("tool-input-delta", parts);
        Assert.Contains("tool-call", parts);
        AssertWeatherArguments(Assert.Single(stream["toolCalls"]!.AsArray())!["input"]!.ToJsonString());

        var usages = steps.Select(s => s!["usage"]!).Append(stream["usage"]!).ToList();
        Assert.Equal(
            (usages.Sum(u => u["inputTokens"]!.GetValue<int>()), usages.Sum(u => u["outputTokens"]!.GetValue<int>())), await fixture.Server.ChargedAsync(tenant));
    }
}
