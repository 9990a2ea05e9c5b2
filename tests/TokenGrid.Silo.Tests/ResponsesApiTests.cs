using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Responses;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// OpenAI's Responses API (<c>POST /v1/responses</c>) through the official clients, left at their defaults: the
/// <c>openai</c> npm package (tests/reference/openai-responses.mjs) and the .NET SDK's <see cref="ResponsesClient"/>. A
/// response is a chat job: its usage is what the ledger charges, its errors are the chat path's problems, and a stream
/// whose client leaves cancels its job.
/// </summary>
public sealed class ResponsesApiTests(LongContextServerFixture fixture) : IClassFixture<LongContextServerFixture>
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task The_node_client_creates_streams_parses_and_sees_refusals_with_usage_as_charged()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        var (_, limitedKey) = await Server.CreateTenantAsync(new { max_concurrent_jobs = 1 });
        var (abortTenant, abortKey) = await Server.CreateTenantAsync();
        var results = await ReferenceTools.OpenAiResponsesAsync(new Uri(Server.BaseAddress, "v1"), key, limitedKey, abortKey);

        // max_output_tokens ended it: incomplete, as OpenAI answers, with the text in one message's output_text.
        var whole = Ok(results, "whole");
        Assert.Equal(("response", "incomplete", "demo"), (Text(whole, "object"), Text(whole, "status"), Text(whole, "model")));
        Assert.Equal("max_output_tokens", whole["incomplete"]!["reason"]!.GetValue<string>());
        Assert.StartsWith("resp_", Text(whole, "id"), StringComparison.Ordinal);
        var item = Assert.Single(whole["output"]!.AsArray())!;
        Assert.Equal(("message", "assistant", "incomplete"), (Text(item, "type"), Text(item, "role"), Text(item, "status")));
        Assert.Equal(Text(whole, "text"), Assert.Single(item["content"]!.AsArray())!["text"]!.GetValue<string>());
        AssertUsage(whole, 8);

        // Streamed (create with stream: true, and the stream helper): the same text, the typed events in order.
        var stream = Ok(results, "stream");
        var types = stream["types"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        Assert.Equal(
            ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"], types.Take(4));
        Assert.Equal(
            ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.incomplete"], types.TakeLast(4));
        Assert.All(types.Skip(4).SkipLast(4), t => Assert.Equal("response.output_text.delta", t));
        Assert.Equal(Enumerable.Range(0, types.Count), stream["sequence"]!.AsArray().Select(s => s!.GetValue<int>()));
        Assert.Equal(Text(whole, "text"), Text(stream, "text"));
        AssertUsage(stream["final"]!, 8);
        var helper = Ok(results, "helperStream");
        Assert.Equal((Text(whole, "text"), Text(whole, "text"), "incomplete"), (Text(helper, "text"), Text(helper, "text"), Text(helper, "status")));
        AssertUsage(helper, 8);

        // text.format json_schema: a value of the schema, which ends the reply (completed).
        foreach (var name in new[] { "structured", "structuredStream" })
        {
            var structured = Ok(results, name);
            Assert.Equal("completed", Text(structured, "status"));
            Assert.InRange(structured["parsed"]!["answer"]!.GetValue<string>().Length, 0, 12);
            Assert.Null(structured["incomplete"]);
        }

        // Instructions and message items, with an assistant's reply sent back as the SDK gave it.
        var conversation = Ok(results, "conversation");
        Assert.Equal("Be brief.", Text(conversation["second"]!, "instructions"));
        Assert.True(
            conversation["second"]!["usage"]!["input_tokens"]!.GetValue<int>() > conversation["first"]!["usage"]!["input_tokens"]!.GetValue<int>(),
            "the second turn's input is longer than the first's");

        AssertRefused(results, "badModel", 404, "model_not_found", "model");
        AssertRefused(results, "badValue", 400, "invalid_value", "temperature");
        AssertRefused(results, "overflow", 400, "context_length_exceeded", "max_output_tokens");
        AssertRefused(results, "previousResponse", 400, "unsupported_parameter", "previous_response_id");
        // Log probabilities (include with top_logprobs): each token of the text with its three likeliest alternatives, on
        // the output_text part and, streamed, on the delta that carried it; the same tokens both ways.
        var logprobs = Ok(results, "logprobs");
        var tokens = logprobs["logprobs"]!.AsArray();
        Assert.Equal(6, tokens.Count);
        Assert.All(tokens, t =>
        {
            Assert.InRange(t!["logprob"]!.GetValue<float>(), float.MinValue, 0);
            Assert.NotEmpty(t["bytes"]!.AsArray());
            Assert.Equal(3, t["top_logprobs"]!.AsArray().Count);
        });
        Assert.Equal(Text(logprobs, "text"), string.Concat(tokens.Select(t => Text(t!, "token"))));
        var streamedLogprobs = Ok(results, "logprobsStream");
        var deltaTokens = streamedLogprobs["deltas"]!.AsArray().SelectMany(d => d!["logprobs"]!.AsArray()).ToList();
        Assert.Equal(tokens.Select(t => (Text(t!, "token"), t!["logprob"]!.GetValue<float>())), deltaTokens.Select(t => (Text(t!, "token"), t!["logprob"]!.GetValue<float>())));
        Assert.All(deltaTokens, t => Assert.Equal(3, t!["top_logprobs"]!.AsArray().Count));
        Assert.Equal(tokens.ToJsonString(), streamedLogprobs["logprobs"]!.ToJsonString());
        Assert.Empty(whole["output"]![0]!["content"]![0]!["logprobs"]!.AsArray());

        AssertRefused(results, "tools", 400, "invalid_value", "tools");
        AssertRefused(results, "webSearch", 400, "unsupported_parameter", "tools[0].type");
        AssertRefused(results, "functionOutput", 400, "invalid_value", "input[1].call_id");
        AssertRefused(results, "reference", 400, "invalid_value", "input[0].id");
        AssertRefused(results, "badInclude", 400, "unsupported_parameter", "include[0]");
        AssertRefused(results, "badTopLogprobs", 400, "invalid_value", "top_logprobs");
        AssertRefused(results, "image", 400, "unsupported_parameter", "input[0].content[0].type");
        AssertRefused(results, "unknown", 400, "unrecognized_argument", "frobnicate");
        AssertRefused(results, "badKey", 401, "invalid_api_key", null);
        AssertRefused(results, "streamBadModel", 404, "model_not_found", "model");
        var limited = results["rateLimited"]!;
        Assert.True(limited["status"]?.GetValue<int>() == 429, limited.ToJsonString());
        Assert.Equal(("concurrency_limit_exceeded", "1"), (Text(limited, "code"), Text(limited, "retryAfter")));

        // Usage as charged: every reply's input and output tokens, summed, are the tenant's charges.
        using var client = Server.Client(key);
        var jobs = (await (await client.GetAsync("v1/jobs?limit=100")).ReadJsonAsync())["data"]!.AsArray();
        await client.AssertEveryJobEndedAndSettledAsync([.. jobs.Select(j => j!["id"]!.GetValue<string>())]);
        var replies = new[] { whole, stream["final"]!, helper, Ok(results, "structured"), Ok(results, "structuredStream"), conversation["first"]!, conversation["second"]!, logprobs, streamedLogprobs };
        var charged = await Server.ChargedAsync(tenant);
        Assert.Equal(
            (replies.Sum(r => r["usage"]!["input_tokens"]!.GetValue<int>()), replies.Sum(r => r["usage"]!["output_tokens"]!.GetValue<int>())), charged);
        Assert.Equal(replies.Length, jobs.Count);
        Assert.All(replies, r => Assert.Contains(jobs, j => "resp_" + j!["id"]!.GetValue<string>()["job_".Length..] == Text(r, "id")));

        // The client that left after three deltas: its job cancelled, charged for what it produced.
        Assert.Equal(3, Ok(results, "abort")["deltas"]!.GetValue<int>());
        await Server.AssertAbortedAndChargedAsync(abortTenant, abortKey, 199);
    }

#pragma warning disable OPENAI001 // The .NET SDK's Responses client is marked experimental.
    [Fact]
    public async Task The_dotnet_sdk_responses_client_creates_and_streams()
    {
        var responses = new OpenAIClient(new ApiKeyCredential(TokenGridServer.DemoKey), new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "v1") })
            .GetResponsesClient();
        CreateResponseOptions Options() => new(TokenGridServer.Model, [ResponseItem.CreateUserMessageItem("Say something about tokens.")])
        {
            MaxOutputTokenCount = 6,
            Temperature = 0,
            Instructions = "Be brief.",
        };

        ResponseResult whole = await responses.CreateResponseAsync(Options());
        Assert.Equal(ResponseStatus.Incomplete, whole.Status);
        Assert.Equal(ResponseIncompleteStatusReason.MaxOutputTokens, whole.IncompleteStatusDetails.Reason);
        Assert.False(string.IsNullOrEmpty(whole.GetOutputText()));
        Assert.Equal((6, whole.Usage.InputTokenCount + 6), (whole.Usage.OutputTokenCount, whole.Usage.TotalTokenCount));

        var text = new StringBuilder();
        ResponseResult? final = null;
        var streaming = Options();
        streaming.StreamingEnabled = true;
        await foreach (var update in await responses.CreateResponseStreamingAsync(streaming))
        {
            switch (update)
            {
                case StreamingResponseOutputTextDeltaUpdate delta:
                    text.Append(delta.Delta);
                    break;
                case StreamingResponseIncompleteUpdate incomplete:
                    final = incomplete.Response;
                    break;
            }
        }

        Assert.Equal(whole.GetOutputText(), text.ToString());
        Assert.NotNull(final);
        Assert.Equal((whole.GetOutputText(), whole.Usage.InputTokenCount, 6), (final.GetOutputText(), final.Usage.InputTokenCount, final.Usage.OutputTokenCount));

        var structured = Options();
        structured.MaxOutputTokenCount = 60;
        structured.TextOptions = new ResponseTextOptions
        {
            TextFormat = ResponseTextFormat.CreateJsonSchemaFormat(
                "answer", BinaryData.FromString("""{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"additionalProperties":false}"""), jsonSchemaIsStrict: true),
        };
        ResponseResult value = await responses.CreateResponseAsync(structured);
        Assert.Equal(ResponseStatus.Completed, value.Status);
        Assert.NotNull(JsonNode.Parse(value.GetOutputText())!["n"]);

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => responses.CreateResponseAsync(new CreateResponseOptions(
            TokenGridServer.Model, [ResponseItem.CreateUserMessageItem("Hi")]) { PreviousResponseId = "resp_123" }));
        Assert.Equal(400, refused.Status);
        Assert.Contains("previous_response_id", refused.Message, StringComparison.Ordinal);
    }
#pragma warning restore OPENAI001

    [Fact]
    public async Task A_stream_names_each_event_counts_it_and_ends_without_done()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/responses")
        {
            Content = new StringContent("""{"model":"demo","input":"Hi","max_output_tokens":3,"stream":true}""", Encoding.UTF8, "application/json"),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var blocks = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain(blocks, b => b.Contains("[DONE]", StringComparison.Ordinal));
        var sequence = 0;
        var deltas = 0;
        foreach (var block in blocks.Where(b => !b.StartsWith(':')))
        {
            var lines = block.Split('\n');
            Assert.Equal(2, lines.Length);
            Assert.StartsWith("event: ", lines[0], StringComparison.Ordinal);
            var data = JsonNode.Parse(lines[1]["data: ".Length..])!;
            Assert.Equal(lines[0]["event: ".Length..], Text(data, "type"));
            Assert.Equal(sequence++, data["sequence_number"]!.GetValue<int>());
            deltas += Text(data, "type") == "response.output_text.delta" ? 1 : 0;
        }

        // Four events open the stream and four close it; between them one delta per token that had text.
        Assert.InRange(deltas, 1, 3);
        Assert.Equal(4 + deltas + 4, sequence);
    }

    [Fact]
    public async Task A_job_that_fails_mid_stream_ends_it_with_response_failed_charged_for_what_it_produced()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/responses")
        {
            Content = new StringContent("""{"model":"demo","input":"Hi","max_output_tokens":2000,"stream":true}""", Encoding.UTF8, "application/json"),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        var names = new List<string?>();
        JsonNode? last = null;
        while (await events.ReadAsync() is { } e)
        {
            names.Add(e.Event);
            last = JsonNode.Parse(e.Data)!;
            Assert.Equal(names.Count - 1, last["sequence_number"]!.GetValue<int>());
            if (e.Event == "response.output_text.delta" && names.Count(n => n == e.Event) == 1)
            {
                // The tenant cancels the response's job (job_X for resp_X) while it streams.
                var running = "job_" + Text(last, "item_id")["msg_".Length..];
                await (await client.PostAsync($"v1/jobs/{running}/cancel", null)).ReadJsonAsync();
            }
        }

        Assert.Equal("response.failed", names[^1]);
        var failed = last!["response"]!;
        Assert.Equal(("failed", "job_cancelled"), (Text(failed, "status"), Text(failed["error"]!, "code")));
        Assert.Equal("incomplete", Text(failed["output"]![0]!, "status"));

        var job = "job_" + Text(failed, "id")["resp_".Length..];
        await client.AssertEveryJobEndedAndSettledAsync([job]);
        var view = await (await client.GetAsync($"v1/jobs/{job}")).ReadJsonAsync();
        var charge = Assert.Single(await Server.LedgerOfJobAsync(tenant, job), e => e["kind"]!.GetValue<string>() == "charge");
        Assert.Equal(view["usage"]!["completion_tokens"]!.GetValue<int>(), charge["completion_tokens"]!.GetValue<int>());
        Assert.InRange(charge["completion_tokens"]!.GetValue<int>(), 1, 1999);
    }

    [Theory]
    [InlineData("""{"model":"demo","max_output_tokens":2}""", "invalid_value", "input")]
    [InlineData("""{"model":"demo","input":[],"max_output_tokens":2}""", "invalid_value", "input")]
    [InlineData("""{"model":"demo","input":[{"role":"tool","content":"1"}],"max_output_tokens":2}""", "invalid_value", "input[0].role")]
    [InlineData("""{"model":"demo","input":[{"role":"user","content":"Hi","name":"x"}],"max_output_tokens":2}""", "unrecognized_argument", "input[0].name")]
    [InlineData("""{"model":"demo","input":[{"role":"user","content":[{"type":"input_text","text":"Hi","x":1}]}],"max_output_tokens":2}""", "unrecognized_argument", "input[0].content[0].x")]
    [InlineData("""{"model":"demo","input":[{"role":"user","content":[{"type":"output_text","text":"Hi"}]}],"max_output_tokens":2}""", "unsupported_parameter", "input[0].content[0].type")]
    [InlineData("""{"model":"demo","input":[{"type":"item_reference","id":"msg_1"}],"max_output_tokens":2}""", "invalid_value", "input[0].id")]
    [InlineData("""{"model":"demo","input":[{"role":"user","content":"Hi"},{"type":"item_reference"}],"max_output_tokens":2}""", "invalid_value", "input[1].id")]
    [InlineData("""{"model":"demo","input":[{"type":"item_reference","id":"msg_1","x":1}],"max_output_tokens":2}""", "unrecognized_argument", "input[0].x")]
    [InlineData("""{"model":"demo","input":"Hi","max_output_tokens":0}""", "invalid_value", "max_output_tokens")]
    [InlineData("""{"model":"demo","input":"Hi","top_p":0}""", "invalid_value", "top_p")]
    [InlineData("""{"model":"demo","input":"Hi","text":{"format":{"type":"json_schema","name":"a b","schema":{}}}}""", "invalid_value", "text.format.name")]
    [InlineData("""{"model":"demo","input":"Hi","text":{"format":{"type":"json_schema","name":"a","json_schema":{}}}}""", "unrecognized_argument", "text.format.json_schema")]
    [InlineData("""{"model":"demo","input":"Hi","text":{"format":{"type":"xml"}}}""", "invalid_value", "text.format.type")]
    [InlineData("""{"model":"demo","input":"Hi","text":{"verbosity":"low"}}""", "unsupported_parameter", "text.verbosity")]
    [InlineData("""{"model":"demo","input":"Hi","truncation":"auto"}""", "unsupported_parameter", "truncation")]
    [InlineData("""{"model":"demo","input":"Hi","background":true}""", "unsupported_parameter", "background")]
    [InlineData("""{"model":"demo","input":"Hi","reasoning":{"effort":"low"}}""", "unsupported_parameter", "reasoning")]
    [InlineData("""{"model":"demo","input":"Hi","include":["reasoning.encrypted_content"]}""", "unsupported_parameter", "include[0]")]
    [InlineData("""{"model":"demo","input":"Hi","include":["message.output_text.logprobs","web_search_call.results"]}""", "unsupported_parameter", "include[1]")]
    [InlineData("""{"model":"demo","input":"Hi","include":"message.output_text.logprobs"}""", "invalid_value", "include")]
    [InlineData("""{"model":"demo","input":"Hi","include":["message.output_text.logprobs"],"top_logprobs":21}""", "invalid_value", "top_logprobs")]
    [InlineData("""{"model":"demo","input":"Hi","conversation":"conv_1"}""", "unsupported_parameter", "conversation")]
    [InlineData("""{"model":"demo","input":"Hi","prompt":{"id":"pmpt_1"}}""", "unsupported_parameter", "prompt")]
    [InlineData("""{"model":"demo","input":"Hi","top_logprobs":2}""", "invalid_value", "top_logprobs")]
    [InlineData("""{"model":"demo","input":"Hi","tool_choice":"required"}""", "invalid_value", "tool_choice")]
    [InlineData("""{"model":"demo","input":"Hi","tools":[],"tool_choice":{"type":"function","name":"f"}}""", "invalid_value", "tool_choice")]
    [InlineData("""{"model":"demo","input":"Hi","tools":[{"type":"function","name":"f"}]}""", "invalid_value", "tools")]
    [InlineData("""{"model":"demo","input":"Hi","tools":[{"type":"file_search","vector_store_ids":["vs_1"]}]}""", "unsupported_parameter", "tools[0].type")]
    [InlineData("""{"model":"demo","input":"Hi","tools":[{"type":"function","function":{"name":"f"}}]}""", "unrecognized_argument", "tools[0].function")]
    [InlineData("""{"model":"demo","input":[{"type":"function_call","name":"f","arguments":"{}"}]}""", "invalid_value", "input[0].call_id")]
    [InlineData("""{"model":"demo","input":[{"type":"function_call","call_id":"","name":"f","arguments":"{}"}]}""", "invalid_value", "input[0].call_id")]
    [InlineData("""{"model":"demo","input":[{"type":"function_call","call_id":"c","name":"f","arguments":{}}]}""", "invalid_value", "input[0].arguments")]
    [InlineData("""{"model":"demo","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}","x":1}]}""", "unrecognized_argument", "input[0].x")]
    [InlineData("""{"model":"demo","input":[{"type":"function_call_output","call_id":"c","output":"1"}]}""", "invalid_value", "input[0].call_id")]
    [InlineData("""{"model":"demo","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c"}]}""", "invalid_value", "input[1].output")]
    [InlineData("""{"model":"demo","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","image_url":"x"}]}]}""", "unsupported_parameter", "input[1].output[0].type")]
    [InlineData("""{"model":"demo","input":[{"type":"web_search_call","id":"ws_1"}]}""", "unsupported_parameter", "input[0].type")]
    [InlineData("""{"model":"demo","input":"Hi","stream_options":{"include_obfuscation":false}}""", "unsupported_parameter", "stream_options")]
    [InlineData("""{"model":"demo","input":"Hi","max_tool_calls":3}""", "unsupported_parameter", "max_tool_calls")]
    [InlineData("""{"model":"demo","input":"Hi","context_management":[{"type":"compaction"}]}""", "unsupported_parameter", "context_management")]
    [InlineData("""{"model":"demo","input":"Hi","prompt_cache_retention":"24h"}""", "unsupported_parameter", "prompt_cache_retention")]
    [InlineData("""{"model":"demo","input":"Hi","messages":[]}""", "unrecognized_argument", "messages")]
    [InlineData("""{"model":"demo","input":"Hi","max_tokens":2}""", "unrecognized_argument", "max_tokens")]
    [InlineData("""{"model":"demo","input":"Hi","store":"yes"}""", "invalid_type", "store")]
    [InlineData("""{"model":"demo","input":"Hi","metadata":{"a":1}}""", "invalid_type", "metadata.a")]
    [InlineData("""{"model":"demo","input":"Hi","max_output_tokens":"2"}""", "invalid_type", "max_output_tokens")]
    public async Task A_field_the_responses_api_does_not_take_is_a_400_naming_it(string body, string code, string param)
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var problem = await (await client.PostAsync("v1/responses", new StringContent(body, Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, code);
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public void Every_field_the_policy_ignores_or_refuses_is_in_the_readme_table()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "silo-config", "README.md"));
        var start = readme.IndexOf("\n### The Responses API\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "no Responses API section");
        var section = readme[start..readme.IndexOf("\n### ", start + 1, StringComparison.Ordinal)];
        Assert.All(ResponseFieldPolicy.Ignored.Keys.Concat(ResponseFieldPolicy.Refused.Keys), field =>
            Assert.Contains($"`{field}`", section, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Defaults_are_accepted_and_what_is_recorded_comes_back()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var reply = await client.PostOkAsync("v1/responses", """
            {"model":"demo","input":[{"type":"message","role":"user","content":"Hi"}],"max_output_tokens":2,"store":true,"metadata":{"k":"v"},
             "tools":[],"tool_choice":"auto","parallel_tool_calls":true,"truncation":"disabled","background":false,"include":[],
             "top_logprobs":0,"service_tier":"auto","safety_identifier":"s","prompt_cache_key":"p","user":"end-user-9","temperature":0.5,"top_p":0.9}
            """);
        Assert.Equal(("v", "end-user-9", true), (reply["metadata"]!["k"]!.GetValue<string>(), Text(reply, "user"), reply["store"]!.GetValue<bool>()));
        Assert.Equal((0.5f, 0.9f), (reply["temperature"]!.GetValue<float>(), reply["top_p"]!.GetValue<float>()));
        Assert.Equal("text", reply["text"]!["format"]!["type"]!.GetValue<string>());
        Assert.Equal(0, reply["usage"]!["output_tokens_details"]!["reasoning_tokens"]!.GetValue<int>());
        Assert.NotNull(reply["usage"]!["input_tokens_details"]!["cached_tokens"]);

        var job = await (await client.GetAsync("v1/jobs/job_" + Text(reply, "id")["resp_".Length..])).ReadJsonAsync();
        Assert.Equal("end-user-9", Text(job, "user"));
    }

    private static void AssertUsage(JsonNode reply, int output)
    {
        var usage = reply["usage"]!;
        Assert.Equal(output, usage["output_tokens"]!.GetValue<int>());
        Assert.Equal(usage["input_tokens"]!.GetValue<int>() + output, usage["total_tokens"]!.GetValue<int>());
    }

    private static string Text(JsonNode node, string name) => node[name]!.GetValue<string>();

    private static JsonObject Ok(JsonObject results, string name)
    {
        var result = results[name]!.AsObject();
        Assert.False(result["error"] is JsonObject, $"{name}: {result.ToJsonString()}");
        return result;
    }

    private static void AssertRefused(JsonObject results, string name, int status, string code, string? param)
    {
        var error = results[name]!["error"];
        Assert.True(error is JsonObject, $"{name} was not refused: {results[name]!.ToJsonString()}");
        Assert.Equal((status, code), (error!["status"]!.GetValue<int>(), error["code"]!.GetValue<string>()));
        Assert.Equal(param, error["param"]?.GetValue<string>());
    }
}
