using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// What the sampling fields do to the output, through the official OpenAI SDK and plain JSON: logit_bias bans a token,
/// penalties change greedy output, log probabilities are a distribution holding the sampled token, min_tokens and
/// stop_token_ids end the output where asked. These need the engine's sampler to implement the request contract of
/// issue 14 (<c>SamplingOptions</c> and <c>GenerationRequest</c>), hence the trait.
/// </summary>
[Collection(ServerCollection.Name)]
[Trait("Requires", "sampler")]
public sealed class RequestEffectTests(ServerFixture fixture)
{
    private const string Completions = "v1/completions";
    private const string Chat = "v1/chat/completions";

    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task Logit_bias_minus_100_bans_the_greedy_first_token()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 1, Temperature = 0, IncludeLogProbabilities = true };
        ChatCompletion free = await Server.Chat().CompleteChatAsync([new UserChatMessage("Name a colour.")], options);
        var first = Assert.Single(free.ContentTokenLogProbabilities);
        var id = TokenId(first.Utf8Bytes!.Value.ToArray());

        options.LogitBiases[id] = -100;
        ChatCompletion banned = await Server.Chat().CompleteChatAsync([new UserChatMessage("Name a colour.")], options);
        Assert.NotEqual(first.Token, Assert.Single(banned.ContentTokenLogProbabilities).Token);

        // And +100 forces a token that greedy would not pick.
        using var client = Server.Client(TokenGridServer.DemoKey);
        var forced = await client.PostOkAsync(Completions, """{"model":"demo","prompt":"Hello","max_tokens":2,"temperature":0,"logit_bias":{"1527":100}}""");
        Assert.Equal(Server.DemoModel().Tokenizer.Decode([1527, 1527]), forced.Text());
    }

    [Fact]
    public async Task Top_logprobs_are_a_distribution_holding_the_sampled_token()
    {
        ChatCompletion reply = await Server.Chat().CompleteChatAsync([new UserChatMessage("Count to three.")], new ChatCompletionOptions
        {
            MaxOutputTokenCount = 6,
            Temperature = 0,
            IncludeLogProbabilities = true,
            TopLogProbabilityCount = 5,
        });

        Assert.Equal(reply.Usage.OutputTokenCount, reply.ContentTokenLogProbabilities.Count);
        foreach (var token in reply.ContentTokenLogProbabilities)
        {
            Assert.Equal(5, token.TopLogProbabilities.Count);
            Assert.InRange(token.TopLogProbabilities.Sum(t => Math.Exp(t.LogProbability)), 0, 1.0001);
            Assert.True(token.LogProbability <= 0);

            // Greedy: the sampled token is the likeliest one.
            Assert.Equal(token.Token, token.TopLogProbabilities[0].Token);
            Assert.Equal(token.LogProbability, token.TopLogProbabilities[0].LogProbability, 4);
        }
    }

    [Fact]
    public async Task Streamed_chat_logprobs_cover_every_token()
    {
        var tokens = 0;
        var logprobs = 0;
        await foreach (var update in Server.Chat().CompleteChatStreamingAsync([new UserChatMessage("Hello")], new ChatCompletionOptions
        {
            MaxOutputTokenCount = 5,
            Temperature = 0.8f,
            IncludeLogProbabilities = true,
            TopLogProbabilityCount = 2,
        }))
        {
            logprobs += update.ContentTokenLogProbabilities.Count;
            Assert.All(update.ContentTokenLogProbabilities, t => Assert.Equal(2, t.TopLogProbabilities.Count));
            tokens = update.Usage?.OutputTokenCount ?? tokens;
        }

        Assert.True(logprobs > 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Legacy_text_offsets_point_into_the_text_in_code_points_across_partial_characters(bool stream)
    {
        // At temperature 1.2 most seeds sample byte tokens that are only part of a character (shown as "bytes:\xNN");
        // the first seed from 1 that does is used, so the test does not rest on one draw of the sampler. logprobs 0 still
        // lists the sampled token itself. The end of sequence is banned so that the text holds every token.
        using var client = Server.Client(TokenGridServer.DemoKey);
        var reply = await Ask(1);
        for (var seed = 2; seed <= 10 && !reply.Tokens.Any(t => t.StartsWith("bytes:", StringComparison.Ordinal)); seed++)
        {
            reply = await Ask(seed);
        }

        var (text, tokens, offsets, tops) = reply;
        Assert.Contains(tokens, t => t.StartsWith("bytes:", StringComparison.Ordinal));
        var points = text.EnumerateRunes().Select(r => r.ToString()).ToList();
        Assert.Equal(0, offsets[0]);
        for (var i = 0; i < tokens.Count; i++)
        {
            Assert.InRange(offsets[i], i == 0 ? 0 : offsets[i - 1], points.Count);
            Assert.Equal(tokens[i], Assert.Single(tops[i]).Key);
            if (!tokens[i].StartsWith("bytes:", StringComparison.Ordinal))
            {
                var at = string.Concat(points.Skip(offsets[i]).Take(tokens[i].EnumerateRunes().Count()));
                Assert.True(at == tokens[i], $"token {i} '{tokens[i]}' at offset {offsets[i]} reads '{at}' in the text");
            }
        }

        Task<(string Text, List<string> Tokens, List<int> Offsets, List<JsonObject> Tops)> Ask(int seed) => LegacyAsync(client,
            $$"""{"model":"demo","prompt":"Hello","max_tokens":120,"temperature":1.2,"seed":{{seed}},"logprobs":0,"logit_bias":{"100257":-100}""", stream);
    }

    /// <summary>
    /// A legacy completion of <paramref name="request"/> (a body without its closing brace), streamed or not: its text,
    /// and the tokens, offsets and top log probabilities of its <c>logprobs</c>, chunks joined.
    /// </summary>
    private static async Task<(string Text, List<string> Tokens, List<int> Offsets, List<JsonObject> Tops)> LegacyAsync(HttpClient client, string request, bool stream)
    {
        List<JsonObject> replies = stream ? await client.StreamAsync(Completions, request + ""","stream":true}""") : [await client.PostOkAsync(Completions, request + "}")];
        var choices = replies.SelectMany(r => r["choices"]!.AsArray()).ToList();
        var logprobs = choices.Where(c => c!["logprobs"] is JsonObject).Select(c => c!["logprobs"]!).ToList();
        return (
            string.Concat(choices.Select(c => c!["text"]!.GetValue<string>())),
            [.. logprobs.SelectMany(l => l["tokens"]!.AsArray()).Select(t => t!.GetValue<string>())],
            [.. logprobs.SelectMany(l => l["text_offset"]!.AsArray()).Select(o => o!.GetValue<int>())],
            [.. logprobs.SelectMany(l => l["top_logprobs"]!.AsArray()).Select(t => t!.AsObject())]);
    }

    [Fact]
    public async Task Legacy_logprobs_line_up_with_the_text()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        const string request = """{"model":"demo","prompt":"The token office","max_tokens":6,"temperature":0,"ignore_eos":true,"logprobs":3""";
        var reply = await client.PostOkAsync(Completions, request + "}");
        var logprobs = reply["choices"]![0]!["logprobs"]!;
        var tokens = logprobs["tokens"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        Assert.Equal(6, tokens.Count);
        if (!tokens.Any(t => t.StartsWith("bytes:", StringComparison.Ordinal)))
        {
            Assert.Equal(reply.Text(), string.Concat(tokens));
        }

        var offsets = logprobs["text_offset"]!.AsArray().Select(o => o!.GetValue<int>()).ToList();
        Assert.Equal(0, offsets[0]);
        for (var i = 1; i < tokens.Count; i++)
        {
            Assert.Equal(offsets[i - 1] + tokens[i - 1].EnumerateRunes().Count(), offsets[i]);
        }

        // OpenAI: "up to logprobs + 1 elements", the sampled token's always among them.
        var tops = logprobs["top_logprobs"]!.AsArray();
        for (var i = 0; i < tokens.Count; i++)
        {
            Assert.InRange(tops[i]!.AsObject().Count, 1, 4);
            Assert.True(tops[i]!.AsObject().ContainsKey(tokens[i]), $"token {i} ({tokens[i]}) is not in its top_logprobs");
        }

        var chunks = await client.StreamAsync(Completions, request + ""","stream":true}""");
        var streamed = chunks.SelectMany(c => c["choices"]!.AsArray()).Where(c => c!["logprobs"] is JsonObject)
            .SelectMany(c => c!["logprobs"]!["tokens"]!.AsArray()).Select(t => t!.GetValue<string>());
        Assert.Equal(tokens, streamed);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task Legacy_text_offsets_skip_the_special_tokens_the_text_leaves_out(bool skip, bool stream)
    {
        // A special token other than the end of sequence, forced for every step.
        var model = Server.DemoModel();
        var (special, id) = model.Tokenizer.SpecialTokens.First(t => t.Value != 100257);
        var request = $$"""{"model":"demo","prompt":"Hi","max_tokens":3,"temperature":0,"logprobs":0,"skip_special_tokens":{{(skip ? "true" : "false")}},"logit_bias":{"{{id}}":100}""";
        using var client = Server.Client(TokenGridServer.DemoKey);
        var (text, tokens, offsets, _) = await LegacyAsync(client, request, stream);

        // Three special tokens: shown and counted, or left out of the text and so moving no offset.
        Assert.Equal([special, special, special], tokens);
        Assert.Equal(skip ? "" : special + special + special, text);
        int[] expected = skip ? [0, 0, 0] : [0, special.Length, 2 * special.Length];
        Assert.Equal(expected, offsets);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Legacy_text_offsets_skip_end_of_sequence_tokens_that_ignore_eos_generates_past(bool stream)
    {
        // Seeded, with the end of sequence made likely: some tokens are it, generated past, and text follows them. Its
        // text never shows, so it moves no offset.
        const string Eos = "<|endoftext|>";
        const string Request = """{"model":"demo","prompt":"Hello","max_tokens":12,"temperature":1,"seed":2,"logprobs":0,"ignore_eos":true,"logit_bias":{"100257":11.5}""";
        using var client = Server.Client(TokenGridServer.DemoKey);
        var (text, tokens, offsets, _) = await LegacyAsync(client, Request, stream);

        // The seed's draw has text after an end of sequence, in whole characters.
        Assert.Equal(12, tokens.Count);
        Assert.Contains(tokens.SkipWhile(t => t != Eos), t => t != Eos);
        Assert.DoesNotContain(tokens, t => t.StartsWith("bytes:", StringComparison.Ordinal));
        Assert.Equal(string.Concat(tokens.Where(t => t != Eos)), text);
        var expected = tokens.Select((_, i) => tokens.Take(i).Where(t => t != Eos).Sum(t => t.EnumerateRunes().Count()));
        Assert.Equal(expected, offsets);
    }

    [Fact]
    public async Task Penalties_change_greedy_output()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        async Task<string> RunAsync(string extra) => (await client.PostOkAsync(Completions,
            $$"""{"model":"demo","prompt":"the the the the the the","max_tokens":24,"temperature":0,"ignore_eos":true{{extra}}}""")).Text();

        var plain = await RunAsync("");
        Assert.NotEqual(plain, await RunAsync(""","frequency_penalty":2"""));
        Assert.NotEqual(plain, await RunAsync(""","presence_penalty":2"""));
        Assert.NotEqual(plain, await RunAsync(""","repetition_penalty":2"""));
        Assert.Equal(plain, await RunAsync(""","presence_penalty":0,"frequency_penalty":0,"repetition_penalty":1"""));
    }

    [Fact]
    public async Task Stop_token_ids_end_the_output_and_min_tokens_holds_them_off()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        const string request = """{"model":"demo","prompt":"Once upon a time","max_tokens":8,"temperature":0,"ignore_eos":true,"logprobs":0""";
        var free = await client.PostOkAsync(Completions, request + "}");
        var ids = free["choices"]![0]!["logprobs"]!["tokens"]!.AsArray().Select(t => TokenId(Encoding.UTF8.GetBytes(t!.GetValue<string>()))).ToList();

        // Stop at the second greedy token: the output ends with it (a stop token counts, and shows no text).
        var stopped = await client.PostOkAsync(Completions, request + $$""","stop_token_ids":[{{ids[1]}}]}""");
        Assert.Equal("stop", stopped["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Equal(2, stopped["usage"]!["completion_tokens"]!.GetValue<int>());

        // Every id the greedy run produced is a stop token, but none may end the output before 4 tokens.
        var held = await client.PostOkAsync(Completions, request + $$""","stop_token_ids":[{{string.Join(',', ids.Distinct())}}],"min_tokens":4}""");
        Assert.True(held["usage"]!["completion_tokens"]!.GetValue<int>() >= 4);
    }

    [Fact]
    public async Task Include_stop_str_in_output_keeps_the_stop_sequence()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        const string request = """{"model":"demo","prompt":"The token office","max_tokens":16,"temperature":0,"ignore_eos":true""";
        var free = (await client.PostOkAsync(Completions, request + "}")).Text();
        var stop = free.Substring(free.Length / 2, 2);
        var kept = await client.PostOkAsync(Completions,
            request + $$""","stop":[{{JsonValue.Create(stop)!.ToJsonString()}}],"include_stop_str_in_output":true}""");
        Assert.Equal(free[..(free.IndexOf(stop, StringComparison.Ordinal) + stop.Length)], kept.Text());
    }

    [Fact]
    public async Task A_temperature_below_the_greedy_threshold_is_greedy()
    {
        // 1e-39 is a float denormal: dividing by it overflowed and every step sampled token 0.
        var greedy = new ChatCompletionOptions { MaxOutputTokenCount = 4, Temperature = 0 };
        ChatCompletion expected = await Server.Chat().CompleteChatAsync([new UserChatMessage("hi")], greedy);
        foreach (var temperature in new[] { 1e-39f, 1e-6f })
        {
            ChatCompletion tiny = await Server.Chat().CompleteChatAsync(
                [new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 4, Temperature = temperature });
            Assert.Equal(expected.Content[0].Text, tiny.Content[0].Text);
        }

        using var client = Server.Client(TokenGridServer.DemoKey);
        const string request = """{"model":"demo","prompt":"Hello","max_tokens":3,"ignore_eos":true,"seed":1,"temperature":""";
        Assert.Equal((await client.PostOkAsync(Completions, request + "0}")).Text(), (await client.PostOkAsync(Completions, request + "1e-39}")).Text());
    }

    [Fact]
    public async Task Template_stop_strings_never_show_even_with_include_stop_str_in_output()
    {
        // Every token of the chat template's first stop string is forced, so the reply soon writes it and ends there.
        var model = Server.DemoModel();
        var stop = model.RenderChat([JsonNode.Parse("""{"role":"user","content":"x"}""")!]).StopSequences[0];
        var bias = string.Join(',', model.Encode(stop).Distinct().Select(id => $"\"{id}\":100"));
        var request = $$"""{"model":"demo","messages":[{"role":"user","content":"x"}],"max_tokens":60,"seed":1,"logit_bias":{{{bias}}}""";
        using var client = Server.Client(TokenGridServer.DemoKey);

        var excluded = await client.PostOkAsync(Chat, request + "}");
        Assert.Equal("stop", excluded["choices"]![0]!["finish_reason"]!.GetValue<string>());
        var included = await client.PostOkAsync(Chat, request + ""","include_stop_str_in_output":true}""");
        var content = included["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        Assert.Equal(excluded["choices"]![0]!["message"]!["content"]!.GetValue<string>(), content);
        Assert.DoesNotContain(stop, content, StringComparison.Ordinal);

        var streamed = await client.StreamAsync(Chat, request + ""","include_stop_str_in_output":true,"stream":true}""");
        Assert.Equal(content, string.Concat(streamed.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]?["content"]?.GetValue<string>())));
    }

    [Fact]
    public async Task Min_tokens_holds_off_stop_strings_ending_in_the_first_tokens_text()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        const string request = """{"model":"demo","prompt":"Hello","max_tokens":8,"temperature":0,"ignore_eos":true""";
        var free = await client.PostOkAsync(Completions, request + ""","logprobs":0}""");
        var tokens = free["choices"]![0]!["logprobs"]!["tokens"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        Assert.DoesNotContain(tokens, t => t.StartsWith("bytes:", StringComparison.Ordinal));
        var text = free.Text();
        var stop = JsonValue.Create(tokens[1])!.ToJsonString();

        // Without min_tokens the second token's text is a stop at once; with 5, a match must end after the 5th token's text.
        var early = await client.PostOkAsync(Completions, request + $$""","stop":{{stop}}}""");
        Assert.Equal(text[..text.IndexOf(tokens[1], StringComparison.Ordinal)], early.Text());
        var held = await client.PostOkAsync(Completions, request + $$""","stop":{{stop}},"min_tokens":5}""");
        var guarded = string.Concat(tokens.Take(5)).Length;
        var at = text.IndexOf(tokens[1], Math.Max(0, guarded - tokens[1].Length + 1), StringComparison.Ordinal);
        Assert.Equal(at >= 0 ? text[..at] : text, held.Text());
        Assert.True(held["usage"]!["completion_tokens"]!.GetValue<int>() >= 5);
    }

    [Fact]
    public async Task Include_stop_str_in_output_keeps_the_text_of_a_stop_token_id()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        const string request = """{"model":"demo","prompt":"Once upon a time","max_tokens":8,"temperature":0,"ignore_eos":true""";
        var free = await client.PostOkAsync(Completions, request + ""","logprobs":0}""");
        var tokens = free["choices"]![0]!["logprobs"]!["tokens"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        var id = TokenId(Encoding.UTF8.GetBytes(tokens[1]));

        var excluded = await client.PostOkAsync(Completions, request + $$""","stop_token_ids":[{{id}}]}""");
        Assert.Equal(tokens[0], excluded.Text());
        var included = await client.PostOkAsync(Completions, request + $$""","stop_token_ids":[{{id}}],"include_stop_str_in_output":true}""");
        Assert.Equal(tokens[0] + tokens[1], included.Text());
        Assert.Equal(("stop", 2), (included["choices"]![0]!["finish_reason"]!.GetValue<string>(), included["usage"]!["completion_tokens"]!.GetValue<int>()));
    }

    [Fact]
    public async Task The_end_of_sequence_token_never_shows_even_with_ignore_eos()
    {
        var eos = Server.DemoModel().Config.EosTokenIds[0];
        using var client = Server.Client(TokenGridServer.DemoKey);
        var request = $$"""{"model":"demo","prompt":"Hello","max_tokens":3,"temperature":0,"ignore_eos":true,"logit_bias":{"{{eos}}":100}""";

        var reply = await client.PostOkAsync(Completions, request + "}");
        Assert.Equal("", reply.Text());
        Assert.Equal(("length", 3), (reply["choices"]![0]!["finish_reason"]!.GetValue<string>(), reply["usage"]!["completion_tokens"]!.GetValue<int>()));

        var streamed = await client.StreamAsync(Completions, request + ""","stream":true}""");
        Assert.Equal("", string.Concat(streamed.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["text"]!.GetValue<string>())));
    }

    [Fact]
    public async Task A_job_reports_logprobs_in_its_events()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var job = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Hi", max_tokens = 3, ignore_eos = true, logprobs = true, top_logprobs = 2 }))
            .ReadJsonAsync(HttpStatusCode.Accepted);
        using var response = await client.GetAsync($"v1/jobs/{job["id"]}/events", HttpCompletionOption.ResponseHeadersRead);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        var logprobs = new List<JsonNode>();
        while (await events.ReadAsync() is { } e)
        {
            var data = JsonNode.Parse(e.Data)!;
            logprobs.AddRange(data["logprobs"]?.AsArray().Select(l => l!) ?? []);
            if (data["job"]?["finished_at"] is JsonValue)
            {
                break;
            }
        }

        Assert.Equal(3, logprobs.Count);
        Assert.All(logprobs, l => Assert.Equal(2, l["top_logprobs"]!.AsArray().Count));
    }

    [Fact]
    public async Task Skip_special_tokens_leaves_them_out_of_the_text_but_counts_them()
    {
        // A special token that does not end the sequence, forced on every step by logit_bias.
        var model = Server.DemoModel();
        var (name, id) = model.Tokenizer.SpecialTokens.First(t => !model.Config.EosTokenIds.Contains(t.Value));
        using var client = Server.Client(TokenGridServer.DemoKey);
        var request = $$"""{"model":"demo","prompt":"Hello","max_tokens":3,"temperature":0,"logit_bias":{"{{id}}":100}""";

        var kept = await client.PostOkAsync(Completions, request + "}");
        Assert.Equal(string.Concat(Enumerable.Repeat(name, 3)), kept.Text());

        var skipped = await client.PostOkAsync(Completions, request + ""","skip_special_tokens":true,"logprobs":1}""");
        Assert.Equal("", skipped.Text());
        Assert.Equal(3, skipped["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal(3, skipped["choices"]![0]!["logprobs"]!["tokens"]!.AsArray().Count);

        var streamed = await client.StreamAsync(Completions, request + ""","skip_special_tokens":true,"stream":true}""");
        Assert.Equal("", string.Concat(streamed.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["text"]!.GetValue<string>())));
    }

    /// <summary>The demo model's id of the token with <paramref name="bytes"/>.</summary>
    private int TokenId(byte[] bytes)
    {
        var tokenizer = Server.DemoModel().Tokenizer;
        var ids = tokenizer.Encode(Encoding.UTF8.GetString(bytes), addSpecialTokens: false);
        return ids.Length == 1 && tokenizer.TokenBytes(ids[0]).SequenceEqual(bytes) ? ids[0]
            : throw new InvalidOperationException($"No single token for {Convert.ToHexString(bytes)}.");
    }
}
