using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// The official <c>openai</c> npm package as a second real client (tests/reference/openai-client.mjs, run by node from
/// the reference tools): what it sends and parses must work as with the .NET SDK.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class OpenAiNodeClientTests(ServerFixture fixture)
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task The_node_client_streams_stops_seeds_echoes_and_sees_refusals()
    {
        var results = await ReferenceTools.OpenAiClientAsync(new Uri(Server.BaseAddress, "v1"), TokenGridServer.DemoKey);

        var greedy = Ok(results, "greedy");
        var stream = Ok(results, "stream");
        Assert.Equal(greedy["text"]!.GetValue<string>(), stream["text"]!.GetValue<string>());
        Assert.Equal(greedy["usage"]!["completion_tokens"]!.GetValue<int>(), stream["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal(stream["chunks"]!.GetValue<int>() - 1, stream["nullUsage"]!.GetValue<int>());

        // client.chat.completions.stream(...): its content events and finalChatCompletion() agree with a plain stream.
        var helper = Ok(results, "helperStream");
        Assert.Equal(stream["text"]!.GetValue<string>(), helper["text"]!.GetValue<string>());
        Assert.Equal(stream["text"]!.GetValue<string>(), helper["content"]!.GetValue<string>());
        Assert.Equal("length", helper["finish"]!.GetValue<string>());
        Assert.All(new[] { "prompt_tokens", "completion_tokens", "total_tokens" }, field =>
            Assert.Equal(stream["usage"]![field]!.GetValue<int>(), helper["usage"]![field]!.GetValue<int>()));

        var seed = Ok(results, "seed");
        Assert.Equal(seed["first"]!.GetValue<string>(), seed["second"]!.GetValue<string>());

        var stop = Ok(results, "stop");
        var free = stop["free"]!.GetValue<string>();
        Assert.Equal(free[..free.IndexOf(stop["stop"]!.GetValue<string>(), StringComparison.Ordinal)], stop["text"]!.GetValue<string>());
        Assert.Equal("stop", stop["finish"]!.GetValue<string>());

        Assert.StartsWith("Echo me", Ok(results, "echo")["text"]!.GetValue<string>());

        AssertRefused(results, "tools", "tools");
        AssertRefused(results, "unknown", "frobnicate");
        AssertRefused(results, "overflow", "max_completion_tokens");
        AssertRefused(results, "repetitionPenalty", "repetition_penalty");

        Assert.False(string.IsNullOrEmpty(Ok(results, "requestId")["requestId"]?.GetValue<string>()), "no request_id on a reply");
        var notFound = results["notFound"]!["error"]!;
        Assert.Equal(404, notFound["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(notFound["requestId"]?.GetValue<string>()), "no request_id on an error");
    }

    [Fact]
    public async Task Every_reply_names_its_request_in_x_request_id_the_id_a_problem_body_carries()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var ok = await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hi", max_tokens = 1 });
        await ok.ReadJsonAsync();
        var first = Assert.Single(ok.Headers.GetValues("x-request-id"));

        var missing = await client.PostJsonAsync("v1/completions", new { model = "no-such-model", prompt = "Hi", max_tokens = 1 });
        var problem = await missing.AssertProblemAsync(System.Net.HttpStatusCode.NotFound, "model_not_found");
        var id = Assert.Single(missing.Headers.GetValues("x-request-id"));
        Assert.Equal(problem["trace_id"]!.GetValue<string>(), id);
        Assert.NotEqual(first, id);

        using var anonymous = Server.Client(null);
        var unauthorized = await anonymous.GetAsync("v1/models");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Single(unauthorized.Headers.GetValues("x-request-id"));
    }

    [Fact]
    [Trait("Requires", "sampler")]
    public async Task The_node_client_reads_logprobs_and_logit_bias()
    {
        var results = await ReferenceTools.OpenAiClientAsync(new Uri(Server.BaseAddress, "v1"), TokenGridServer.DemoKey);

        var logprobs = Ok(results, "logprobs");
        var content = logprobs["content"]!.AsArray();
        Assert.Equal(logprobs["usage"]!["completion_tokens"]!.GetValue<int>(), content.Count);
        Assert.All(content, token =>
        {
            Assert.Equal(3, token!["top_logprobs"]!.AsArray().Count);
            Assert.Equal(token["token"]!.GetValue<string>(), token["top_logprobs"]![0]!["token"]!.GetValue<string>());
        });
        Assert.NotEmpty(Ok(results, "streamLogprobs")["content"]!.AsArray());

        var legacy = Ok(results, "legacyLogprobs");
        var tokens = legacy["logprobs"]!["tokens"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        Assert.Equal(3, tokens.Count);
        // The SDK's documentation of logprobs: "the API will always return the logprob of the sampled token, so there may
        // be up to logprobs+1 elements in the response."
        var tops = legacy["logprobs"]!["top_logprobs"]!.AsArray();
        Assert.All(tokens.Zip(tops), pair =>
        {
            Assert.InRange(pair.Second!.AsObject().Count, 2, 3);
            Assert.True(pair.Second!.AsObject().ContainsKey(pair.First), $"'{pair.First}' is not in {pair.Second!.ToJsonString()}");
        });
        Assert.Equal(Server.DemoModel().Tokenizer.Decode([1527, 1527]), Ok(results, "logitBias")["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_node_client_reads_n_seeded_choices_plain_and_streamed()
    {
        var results = await ReferenceTools.OpenAiClientAsync(new Uri(Server.BaseAddress, "v1"), TokenGridServer.DemoKey);

        var choices = Ok(results, "choices");
        Assert.Equal([0, 1, 2], choices["indexes"]!.AsArray().Select(i => i!.GetValue<int>()));
        var first = choices["first"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        Assert.Equal(3, first.Distinct().Count());
        Assert.Equal(first, choices["second"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.All(choices["finishes"]!.AsArray(), f => Assert.Contains(f!.GetValue<string>(), new[] { "stop", "length" }));

        var streamed = choices["streamed"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        Assert.All(streamed, t => Assert.StartsWith("Echo me", t));
        Assert.Equal(3, streamed.Distinct().Count());
        Assert.All(choices["streamFinishes"]!.AsArray(), f => Assert.Contains(f!.GetValue<string>(), new[] { "stop", "length" }));
        var usage = choices["streamUsage"]!;
        Assert.InRange(usage["completion_tokens"]!.GetValue<int>(), 3, 18);
        Assert.Equal(usage["prompt_tokens"]!.GetValue<int>() + usage["completion_tokens"]!.GetValue<int>(), usage["total_tokens"]!.GetValue<int>());
        Assert.Equal(
            choices["usage"]!["prompt_tokens"]!.GetValue<int>() + choices["usage"]!["completion_tokens"]!.GetValue<int>(),
            choices["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_node_client_sends_several_prompts_in_one_completion_plain_and_streamed()
    {
        var results = await ReferenceTools.OpenAiClientAsync(new Uri(Server.BaseAddress, "v1"), TokenGridServer.DemoKey);

        var batch = Ok(results, "promptBatch");
        Assert.Equal([0, 1, 2, 3], batch["indexes"]!.AsArray().Select(i => i!.GetValue<int>()));
        var texts = batch["texts"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        var alone = batch["alone"]!.AsArray().SelectMany(a => a!.AsArray().Select(t => t!.GetValue<string>())).ToList();
        Assert.Equal(alone, texts);
        Assert.All(texts.Take(2), t => Assert.StartsWith("Echo me", t, StringComparison.Ordinal));
        Assert.All(texts.Skip(2), t => Assert.StartsWith("The token office", t, StringComparison.Ordinal));
        Assert.Equal(texts, batch["streamed"]!.AsArray().Select(t => t!.GetValue<string>()));

        var prompt = batch["alonePrompt"]!.AsArray().Sum(p => p!.GetValue<int>());
        foreach (var usage in new[] { batch["usage"]!, batch["streamUsage"]! })
        {
            Assert.Equal((prompt, 16, prompt + 16), (usage["prompt_tokens"]!.GetValue<int>(), usage["completion_tokens"]!.GetValue<int>(), usage["total_tokens"]!.GetValue<int>()));
        }
    }

    private static JsonObject Ok(JsonObject results, string name)
    {
        var result = results[name]!.AsObject();
        Assert.False(result.ContainsKey("error"), $"{name}: {result.ToJsonString()}");
        return result;
    }

    private static void AssertRefused(JsonObject results, string name, string param)
    {
        var error = results[name]!["error"];
        Assert.True(error is JsonObject, $"{name} was not refused: {results[name]!.ToJsonString()}");
        Assert.Equal(400, error!["status"]!.GetValue<int>());
        Assert.Equal(param, error["param"]!.GetValue<string>());
    }
}
