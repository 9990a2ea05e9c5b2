using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// The OpenAI request surface (issue 14) with what the API itself decides: every field is implemented or refused by
/// name, never ignored; unknown fields are refused as OpenAI refuses them; limits are checked against the context.
/// The effects the sampler produces (bias, penalties, log probabilities) are in <see cref="RequestEffectTests"/>.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class RequestSurfaceTests(ServerFixture fixture)
{
    private const string Chat = "v1/chat/completions";
    private const string Completions = "v1/completions";
    private const string Hello = """[{"role":"user","content":"Hello"}]""";

    private TokenGridServer Server => fixture.Server;

    [Theory]
    [InlineData(Completions, "tools", """[{"type":"function","function":{"name":"f"}}]""")]
    [InlineData(Completions, "tool_choice", "\"auto\"")]
    [InlineData(Chat, "functions", """[{"name":"f"}]""")]
    [InlineData(Chat, "function_call", "\"auto\"")]
    [InlineData(Chat, "audio", """{"voice":"alloy","format":"wav"}""")]
    [InlineData(Chat, "modalities", """["text","audio"]""")]
    [InlineData(Chat, "prediction", """{"type":"content","content":"x"}""")]
    [InlineData(Chat, "web_search_options", "{}")]
    [InlineData(Chat, "reasoning_effort", "\"low\"")]
    [InlineData(Completions, "best_of", "2")]
    [InlineData(Completions, "suffix", "\"end\"")]
    [InlineData(Completions, "guided_json", "{}")]
    [InlineData(Completions, "prompt_logprobs", "1")]
    public async Task Unimplemented_parameters_are_400_naming_them(string path, string field, string value)
    {
        var problem = await PostProblemAsync(path, field, value);
        Assert.Equal(field, problem["error"]!["param"]!.GetValue<string>());
        Assert.Equal("unsupported_parameter", problem["error"]!["code"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(Chat, "foo")]
    [InlineData(Completions, "temprature")]
    [InlineData("v1/jobs", "frobnicate")]
    public async Task Unknown_fields_are_refused_like_openai(string path, string field)
    {
        var problem = await PostProblemAsync(path, field, "1");
        Assert.Equal($"Unrecognized request argument supplied: {field}", problem["detail"]!.GetValue<string>());
        Assert.Equal(field, problem["error"]!["param"]!.GetValue<string>());
        Assert.Equal("unrecognized_argument", problem["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_stream_option_is_refused_with_its_path()
    {
        var problem = await PostProblemAsync(Chat, "stream_options", """{"include_usage":true,"colour":"blue"}""", stream: true);
        Assert.Equal("stream_options.colour", problem["error"]!["param"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("response_format", """{"type":"json_object","schema":{"type":"object"}}""", "response_format.schema")]
    [InlineData("response_format", """{"type":"text","json_schema":{"name":"a","schema":{}}}""", "response_format.json_schema")]
    [InlineData("response_format", """{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}},"schema":{}}""", "response_format.schema")]
    [InlineData("response_format", """{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"},"shema":{}}}""", "response_format.json_schema.shema")]
    [InlineData("messages", """[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]}]""", "messages[0].content[0].cache_control")]
    [InlineData("messages", """[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"},"foo":1}]},{"role":"tool","tool_call_id":"call_1","content":"1"}]""", "messages[1].tool_calls[0].foo")]
    [InlineData("messages", """[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}","foo":1}}]},{"role":"tool","tool_call_id":"call_1","content":"1"}]""", "messages[1].tool_calls[0].function.foo")]
    public async Task An_unknown_key_inside_a_nested_object_is_refused_with_its_path_never_dropped(string field, string value, string param)
    {
        // A schema one level too high would otherwise be accepted and not enforced; a typo would give a looser output.
        var body = field == "messages"
            ? $$"""{"model":"demo","max_tokens":2,"messages":{{value}}}"""
            : $$"""{"model":"demo","max_tokens":2,"messages":{{Hello}},"{{field}}":{{value}}}""";
        using var client = Server.Client(TokenGridServer.DemoKey);
        var problem = await (await client.PostAsync(Chat, new StringContent(body, Encoding.UTF8, "application/json"))).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
        Assert.Equal("unrecognized_argument", problem["error"]!["code"]!.GetValue<string>());
        Assert.Equal($"Unrecognized request argument supplied: {param}", problem["detail"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[1]},{"role":"tool","tool_call_id":"call_1","content":"1"}]""", "messages[1].tool_calls")]
    [InlineData("""[{"role":"user","content":"x"},{"role":"assistant","tool_calls":["call"]},{"role":"tool","tool_call_id":"call_1","content":"1"}]""", "messages[1].tool_calls")]
    [InlineData("""[{"role":"user","content":["x"]}]""", "messages[0].content")]
    [InlineData("""[{"role":"user","content":[null]}]""", "messages[0].content")]
    public async Task A_nested_value_that_is_not_an_object_is_400_naming_where_it_is(string messages, string param)
    {
        var body = $$"""{"model":"demo","max_tokens":2,"messages":{{messages}}}""";
        using var client = Server.Client(TokenGridServer.DemoKey);
        var problem = await (await client.PostAsync(Chat, new StringContent(body, Encoding.UTF8, "application/json"))).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("store", "\"yes\"", "store")]
    [InlineData("metadata", "\"notanobject\"", "metadata")]
    [InlineData("metadata", """{"team":1}""", "metadata.team")]
    [InlineData("service_tier", "42", "service_tier")]
    [InlineData("prompt_cache_key", "[]", "prompt_cache_key")]
    [InlineData("safety_identifier", "true", "safety_identifier")]
    public async Task An_ignored_field_of_the_wrong_type_is_refused_as_openai_refuses_it(string field, string value, string param)
    {
        var problem = await PostProblemAsync(Chat, field, value);
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
        Assert.Equal("invalid_type", problem["error"]!["code"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(Chat, "store", "true")]
    [InlineData(Chat, "metadata", """{"team":"a"}""")]
    [InlineData(Chat, "service_tier", "\"auto\"")]
    [InlineData(Chat, "response_format", """{"type":"text"}""")]
    [InlineData(Chat, "tools", "null")]
    [InlineData(Chat, "modalities", """["text"]""")]
    [InlineData(Completions, "best_of", "1")]
    [InlineData(Completions, "n", "1")]
    [InlineData(Completions, "skip_special_tokens", "false")]
    [InlineData(Chat, "skip_special_tokens", "true")]
    [InlineData(Chat, "stream_options", """{"include_obfuscation":false}""")]
    public async Task Allowed_fields_and_defaults_are_accepted(string path, string field, string value)
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var response = await client.PostAsync(path, Body(path, field, value, stream: field == "stream_options"));
        if (field == "stream_options")
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.EndsWith("data: [DONE]\n\n", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            return;
        }

        await response.ReadJsonAsync();
    }

    [Theory]
    [InlineData(Completions, """ "logprobs":2,"echo":true """, "echo")]
    [InlineData(Completions, """ "logprobs":21 """, "logprobs")]
    [InlineData(Chat, """ "top_logprobs":3 """, "top_logprobs")]
    [InlineData(Chat, """ "logprobs":true,"top_logprobs":21 """, "top_logprobs")]
    [InlineData(Completions, """ "presence_penalty":2.5 """, "presence_penalty")]
    [InlineData(Completions, """ "frequency_penalty":-3 """, "frequency_penalty")]
    [InlineData(Completions, """ "repetition_penalty":0 """, "repetition_penalty")]
    [InlineData(Completions, """ "min_p":1.5 """, "min_p")]
    [InlineData(Completions, """ "top_k":-2 """, "top_k")]
    [InlineData(Completions, """ "logit_bias":{"abc":5} """, "logit_bias")]
    [InlineData(Completions, """ "logit_bias":{"999999999":5} """, "logit_bias")]
    [InlineData(Completions, """ "logit_bias":{"15":-101} """, "logit_bias")]
    [InlineData(Completions, """ "logit_bias":[1] """, "logit_bias")]
    [InlineData(Completions, """ "logit_bias":{"1":100,"01":-100} """, "logit_bias")]
    [InlineData(Completions, """ "min_tokens":9,"max_tokens":4 """, "min_tokens")]
    [InlineData(Completions, """ "min_tokens":-1 """, "min_tokens")]
    [InlineData(Chat, """ "min_tokens":2,"response_format":{"type":"json_object"} """, "min_tokens")]
    [InlineData(Chat, """ "stop":"}","response_format":{"type":"json_object"} """, "stop")]
    [InlineData(Chat, """ "min_tokens":1,"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"}}} """, "min_tokens")]
    [InlineData(Completions, """ "stop_token_ids":[-1] """, "stop_token_ids")]
    [InlineData(Completions, """ "stop_token_ids":[999999999] """, "stop_token_ids")]
    [InlineData(Completions, """ "priority":"urgent" """, "priority")]
    [InlineData(Completions, """ "priority":"high" """, "priority")]
    [InlineData(Chat, """ "n":0 """, "n")]
    [InlineData(Completions, """ "n":129 """, "n")]
    [InlineData(Completions, """ "n":2,"best_of":3 """, "best_of")]
    [InlineData("v1/jobs", """ "min_p":-1 """, "min_p")]
    [InlineData(Completions, """ "repetition_penalty":101 """, "repetition_penalty")]
    [InlineData(Chat, """ "repetition_penalty":1e38 """, "repetition_penalty")]
    [InlineData(Chat, """ "max_completion_tokens":2 """, "max_tokens")]
    [InlineData(Chat, """ "stream_options":{"include_usage":true} """, "stream_options")]
    [InlineData(Completions, """ "stream":false,"stream_options":{} """, "stream_options")]
    [InlineData(Chat, """ "verbosity":"low" """, "verbosity")]
    [InlineData(Chat, """ "parallel_tool_calls":false """, "parallel_tool_calls")]
    [InlineData(Chat, """ "tool_choice":"none" """, "tool_choice")]
    public async Task Out_of_range_values_are_400_naming_the_parameter(string path, string fields, string param)
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var body = path == Chat ? $$"""{"model":"demo","messages":{{Hello}},"max_tokens":4,{{fields}}}"""
            : fields.Contains("max_tokens", StringComparison.Ordinal) ? $$"""{"model":"demo","prompt":"Hello",{{fields}}}"""
            : $$"""{"model":"demo","prompt":"Hello","max_tokens":4,{{fields}}}""";
        var problem = await (await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
    }

    /// <summary>
    /// A job keeps its stop sequences, biases and stop ids with its record, so each is bounded: the limit is taken, one
    /// more is 400 naming the field (a request must not store megabytes for a few tokens).
    /// </summary>
    [Theory]
    [InlineData("stop", 1000)]
    [InlineData("logit_bias", 1024)]
    [InlineData("stop_token_ids", 1024)]
    public async Task Stored_request_fields_are_bounded(string field, int limit)
    {
        static string Value(string field, int size) => field switch
        {
            "stop" => JsonSerializer.Serialize(new[] { "@", new string('x', size) }),
            "logit_bias" => "{" + string.Join(',', Enumerable.Range(0, size).Select(i => $"\"{i}\":-1")) + "}",
            _ => "[" + string.Join(',', Enumerable.Range(0, size)) + "]",
        };

        using var client = Server.Client(TokenGridServer.DemoKey);
        var taken = await client.PostAsync(Completions, new StringContent(
            $$"""{"model":"demo","prompt":"Hello","max_tokens":2,"{{field}}":{{Value(field, limit)}}}""", Encoding.UTF8, "application/json"));
        await taken.ReadJsonAsync();

        var refused = await client.PostAsync(Completions, new StringContent(
            $$"""{"model":"demo","prompt":"Hello","max_tokens":2,"{{field}}":{{Value(field, limit + 1)}}}""", Encoding.UTF8, "application/json"));
        var problem = await refused.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(field, problem["error"]!["param"]!.GetValue<string>());
        Assert.Contains(limit.ToString(System.Globalization.CultureInfo.InvariantCulture), problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    /// <summary>
    /// Valid JSON nested deeper than the API reads (64 levels) is refused for that, naming where, not as a body that is
    /// not JSON; a body that is not JSON stays 400 <c>invalid_json</c>.
    /// </summary>
    [Fact]
    public async Task Json_nested_too_deep_is_400_saying_so()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var deep = new string('[', 100) + new string(']', 100);
        var problem = await (await client.PostAsync(Chat, new StringContent(
            $$"""{"model":"demo","messages":{{Hello}},"max_tokens":2,"metadata":{"k":""" + deep + "}}", Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
        Assert.Contains("levels deep", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.StartsWith("metadata", problem["error"]!["param"]!.GetValue<string>(), StringComparison.Ordinal);

        await (await client.PostAsync(Chat, new StringContent(
            $$"""{"model":"demo","messages":{{Hello}},"max_tokens":2,"metadata":{"k":""" + deep[..^1] + "}}", Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_json");
    }

    [Theory]
    [InlineData(Chat, """{"model":"demo","max_tokens":2,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello","refusal":null,"annotations":[]},{"role":"user","content":"Again"}]}""")]
    [InlineData(Chat, """{"model":"demo","max_tokens":2,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}]}""")]
    [InlineData(Completions, """{"model":"demo","max_tokens":2,"prompt":[[9906,11]]}""")]
    [InlineData(Completions, """{"model":"demo","max_tokens":2,"prompt":[[9906,11],[9906]]}""")]
    public async Task Bodies_as_the_sdks_send_them_are_accepted(string path, string body)
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var reply = await (await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"))).ReadJsonAsync();
        Assert.Equal("length", reply["choices"]![0]!["finish_reason"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(Chat, """{"model":"demo","messages":[{"role":"user","content":"x","foo":1}]}""", "messages[0].foo", "unrecognized_argument")]
    [InlineData(Chat, """{"model":"demo","messages":[{"role":"user"}]}""", "messages[0].content", "invalid_value")]
    [InlineData(Chat, """{"model":"demo","messages":[{"role":"system","content":null},{"role":"user","content":"x"}]}""", "messages[0].content", "invalid_value")]
    [InlineData(Chat, """{"model":"demo","messages":[{"role":"user","content":"x"},{"role":"assistant"}]}""", "messages[1].content", "invalid_value")]
    [InlineData(Chat, """{"model":"demo","messages":[{"role":"tool","content":"t"}]}""", "messages[0].tool_call_id", "invalid_value")]
    [InlineData(Chat, """{"model":"demo","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y","audio":{"id":"a"}}]}""", "messages[1].audio", "unsupported_parameter")]
    [InlineData(Chat, """{"model":"demo","messages":[{"role":"user","content":"x","refusal":"no"}]}""", "messages[0].refusal", "unrecognized_argument")]
    [InlineData(Completions, """{"model":"demo","prompt":[[1,2],"a"]}""", "prompt", "invalid_value")]
    [InlineData(Completions, """{"model":"demo","prompt":[["a"]]}""", "prompt", "invalid_value")]
    public async Task Messages_and_prompts_OpenAI_refuses_are_400_naming_the_field(string path, string body, string param, string code)
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var problem = await (await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, code);
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_sdk_surfaces_refusals_with_the_parameter()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 4 };
        options.Tools.Add(ChatTool.CreateFunctionTool("lookup", "Looks something up."));
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Server.Chat().CompleteChatAsync([new UserChatMessage("Hi")], options));
        Assert.Equal(400, error.Status);
        Assert.Contains("has no chat template of its own, so it cannot be given tools.", error.Message);
    }

    [Fact]
    public async Task Max_tokens_above_the_context_is_400_context_length_exceeded_and_absent_fits()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var completion = await (await client.PostJsonAsync(Completions, new { model = "demo", prompt = "Hello there", max_tokens = 600 }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "context_length_exceeded");
        Assert.Equal("max_tokens", completion["error"]!["param"]!.GetValue<string>());
        Assert.StartsWith("This model's maximum context length is 512 tokens. However, you requested 602 tokens (2 in the messages, 600 in the completion).",
            completion["detail"]!.GetValue<string>());

        var chat = await (await client.PostJsonAsync(Chat, new { model = "demo", messages = new[] { new { role = "user", content = "Hi" } }, max_completion_tokens = 100_000 }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "context_length_exceeded");
        Assert.Equal("max_completion_tokens", chat["error"]!["param"]!.GetValue<string>());

        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Server.Chat().CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions { MaxOutputTokenCount = 1000 }));
        Assert.Equal(400, error.Status);
        Assert.Contains("maximum context length", error.Message);
    }

    [Fact]
    public async Task Max_completion_tokens_limits_the_output_through_the_sdk()
    {
        ChatCompletion reply = await Server.Chat().CompleteChatAsync(
            [new UserChatMessage("Tell me a long story.")], new ChatCompletionOptions { MaxOutputTokenCount = 3, Temperature = 0 });
        Assert.InRange(reply.Usage.OutputTokenCount, 1, 3);
    }

#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK.
    [Fact]
    public async Task A_seed_reproduces_sampled_output()
    {
        async Task<string> SampleAsync(long seed)
        {
            ChatCompletion reply = await Server.Chat().CompleteChatAsync(
                [new UserChatMessage("Once upon a time")],
                new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 1.5f, Seed = seed });
            return reply.Content[0].Text;
        }

        Assert.Equal(await SampleAsync(1234), await SampleAsync(1234));
    }
#pragma warning restore OPENAI001

    [Fact]
    public async Task Stop_arrays_end_the_output_before_the_first_match()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        const string request = """{"model":"demo","prompt":"The token office","max_tokens":16,"temperature":0,"ignore_eos":true""";
        var free = (await client.PostOkAsync(Completions, request + "}")).Text();
        Assert.True(free.Length >= 4, $"greedy output too short to cut: '{free}'");

        // A stop sequence from the middle of the greedy text, with one that never occurs.
        var stop = free.Substring(free.Length / 2, 2);
        var cut = free[..free.IndexOf(stop, StringComparison.Ordinal)];
        var stopped = await client.PostOkAsync(Completions, request + $$""","stop":[{{JsonValue.Create("\u0001never")!.ToJsonString()}},{{JsonValue.Create(stop)!.ToJsonString()}}]}""");
        Assert.Equal(cut, stopped.Text());
        Assert.Equal("stop", stopped["choices"]![0]!["finish_reason"]!.GetValue<string>());

        ChatCompletion reply = await Server.Chat().CompleteChatAsync([new UserChatMessage("Hello")], new ChatCompletionOptions
        {
            MaxOutputTokenCount = 8,
            Temperature = 0,
            StopSequences = { "\u0001a", "\u0001b" },
        });
        Assert.NotNull(reply.Content);
    }

    [Fact]
    public async Task The_user_is_recorded_on_the_job()
    {
        ChatCompletion reply = await Server.Chat().CompleteChatAsync(
            [new UserChatMessage("Hi")], new ChatCompletionOptions { MaxOutputTokenCount = 2, EndUserId = "end-user-7" });
        using var client = Server.Client(TokenGridServer.DemoKey);
        var job = await (await client.GetAsync($"v1/jobs/{reply.Id["chatcmpl-".Length..]}")).ReadJsonAsync();
        Assert.Equal("end-user-7", job["user"]!.GetValue<string>());

        var submitted = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Hi", max_tokens = 1, user = "batch-3" }))
            .ReadJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal("batch-3", submitted["user"]!.GetValue<string>());
    }

    [Fact]
    public async Task Echo_prepends_the_prompt_streamed_or_not()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        const string request = """{"model":"demo","prompt":"Echo this:","max_tokens":3,"temperature":0,"echo":true""";
        var whole = await client.PostOkAsync(Completions, request + "}");
        Assert.StartsWith("Echo this:", whole.Text());

        var chunks = await client.StreamAsync(Completions, request + ""","stream":true}""");
        Assert.Equal("Echo this:", chunks[0]["choices"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(whole.Text(), string.Concat(chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["text"]!.GetValue<string>())));

        var ids = await client.PostOkAsync(Completions, """{"model":"demo","prompt":[9906,1917],"max_tokens":1,"temperature":0,"echo":true}""");
        Assert.StartsWith(Server.DemoModel().Tokenizer.Decode([9906, 1917]), ids.Text());
    }

    [Fact]
    public async Task Continuous_usage_stats_put_the_usage_on_every_chunk()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var chunks = await client.StreamAsync(Chat,
            $$"""{"model":"demo","messages":{{Hello}},"max_tokens":5,"temperature":0,"ignore_eos":true,"stream":true,"stream_options":""" + """{"include_usage":true,"continuous_usage_stats":true}}""");
        Assert.All(chunks, c => Assert.NotNull(c["usage"]));
        var counts = chunks.Select(c => c["usage"]!["completion_tokens"]!.GetValue<int>()).ToList();
        Assert.Equal(counts.Order(), counts);
        Assert.Equal(0, counts[0]);
        Assert.Equal(5, counts[^1]);
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
    }

    [Theory]
    [InlineData(Chat, 1)]
    [InlineData(Chat, 2)]
    [InlineData(Completions, 1)]
    public async Task With_include_usage_every_other_chunk_carries_usage_null(string path, int n)
    {
        // OpenAI: "All other chunks will also include a usage field, but with a null value."
        using var client = Server.Client(TokenGridServer.DemoKey);
        var prompt = path == Chat ? $""" "messages":{Hello} """ : """ "prompt":"Hello" """;
        var chunks = await client.StreamAsync(path,
            $$"""{"model":"demo",{{prompt}},"max_tokens":3,"n":{{n}},"ignore_eos":true,"stream":true,"stream_options":""" + """{"include_usage":true}}""");
        Assert.All(chunks.SkipLast(1), c => Assert.True(c.AsObject().TryGetPropertyValue("usage", out var usage) && usage is null, c.ToJsonString()));
        Assert.Equal(3 * n, chunks[^1]["usage"]!["completion_tokens"]!.GetValue<int>());

        var plain = await client.StreamAsync(path, $$"""{"model":"demo",{{prompt}},"max_tokens":3,"stream":true}""");
        Assert.All(plain, c => Assert.False(c.AsObject().ContainsKey("usage"), c.ToJsonString()));
    }

    [Fact]
    public async Task Priority_may_be_kept_or_lowered_never_raised()
    {
        var (_, key) = await Server.CreateTenantAsync(new { priority = "low" });
        using var low = Server.Client(key);
        await low.PostOkAsync(Completions, """{"model":"demo","prompt":"Hi","max_tokens":1,"priority":"low"}""");
        var problem = await (await low.PostJsonAsync(Completions, new { model = "demo", prompt = "Hi", max_tokens = 1, priority = "standard" }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
        Assert.Equal("priority", problem["error"]!["param"]!.GetValue<string>());

        using var demo = Server.Client(TokenGridServer.DemoKey);
        await demo.PostOkAsync(Completions, """{"model":"demo","prompt":"Hi","max_tokens":1,"priority":"low"}""");
    }

    [Fact]
    public async Task Ignore_eos_and_extensions_are_accepted_on_every_endpoint()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        const string extensions = """ "top_k":-1,"min_p":0.05,"repetition_penalty":1.1,"presence_penalty":0.5,"frequency_penalty":0.5,"logit_bias":{"15":1.5},"min_tokens":2,"stop_token_ids":[100],"include_stop_str_in_output":false,"seed":5 """;
        var text = await client.PostOkAsync(Completions, $$"""{"model":"demo","prompt":"Hi","max_tokens":6,"ignore_eos":true,{{extensions}}}""");
        Assert.Equal(6, text["usage"]!["completion_tokens"]!.GetValue<int>());
        await client.PostOkAsync(Chat, $$"""{"model":"demo","messages":{{Hello}},"max_completion_tokens":3,{{extensions}}}""");
        var job = await (await client.PostAsync("v1/jobs", new StringContent(
            $$"""{"model":"demo","prompt":"Hi","max_tokens":3,{{extensions}}}""", Encoding.UTF8, "application/json"))).ReadJsonAsync(HttpStatusCode.Accepted);
        Assert.StartsWith("job_", job["id"]!.GetValue<string>());
    }

    [Fact]
    public void The_node_hands_every_option_to_the_engine()
    {
        var bias = new Dictionary<int, float> { [7] = -100f };
        var spec = new GenerationSpec("job", "demo", [1, 2, 3, 4], 9,
            new JobSampling(0.5f, 0.9f, 40, 11, MinP: 0.1f, PresencePenalty: 0.2f, FrequencyPenalty: 0.3f, RepetitionPenalty: 1.2f, LogitBias: bias),
            ["\n"], new JobOutputOptions(MinTokens: 2, StopTokenIds: [5], TopLogprobs: 3, IncludeStopSequence: true, IgnoreEndOfSequence: true),
            ResumedOutputTokens: 2, TemplateStop: ["\nuser:"]);

        var request = NodeGrain.ToRequest(spec);

        Assert.Equal((0.5f, 0.9f, 40, 11UL), (request.Sampling.Temperature, request.Sampling.TopP, request.Sampling.TopK, request.Sampling.Seed!.Value));
        Assert.Equal((0.1f, 0.2f, 0.3f, 1.2f), (request.Sampling.MinP, request.Sampling.PresencePenalty, request.Sampling.FrequencyPenalty, request.Sampling.RepetitionPenalty));
        Assert.Equal(-100f, request.Sampling.LogitBias[7]);
        Assert.Equal((2, 3, true, true, 2), (request.MinTokens, request.TopLogprobs!.Value, request.IncludeStopSequenceInOutput, request.IgnoreEndOfSequence, request.ResumedOutputTokens));
        Assert.Equal([5], request.StopTokenIds);
        Assert.Equal(["\n"], request.StopSequences);
        Assert.Equal(["\nuser:"], request.TemplateStopSequences);
    }

    private async Task<JsonObject> PostProblemAsync(string path, string field, string value, bool stream = false)
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var response = await client.PostAsync(path, Body(path, field, value, stream));
        return await response.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    private static StringContent Body(string path, string field, string value, bool stream = false)
    {
        var prompt = path == Chat ? $""" "messages":{Hello} """ : """ "prompt":"Hello" """;
        var streamField = path == "v1/jobs" ? "" : $""" "stream":{(stream ? "true" : "false")}, """;
        var body = $$"""{"model":"demo",{{prompt}},"max_tokens":2,{{streamField}}"{{field}}":""" + value + "}";
        return new StringContent(body, Encoding.UTF8, "application/json");
    }
}
