using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// Several prompts in one legacy completion (OpenAI's list forms of <c>prompt</c>, which LangChain's legacy <c>OpenAI</c>
/// class sends 20 at a time): P prompts × n choices, choice <c>i × n + j</c> being prompt i's choice j, each as a request
/// for its prompt alone would give it; usage counting each prompt once, and the ledger charging exactly that. Raw HTTP:
/// the official .NET SDK has no legacy completions client.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class PromptBatchTests(ServerFixture fixture) : PromptBatchSuite(fixture.Server)
{
    [Fact]
    public async Task More_choices_than_a_request_may_hold_or_the_tenant_may_run_together_are_400_naming_prompt()
    {
        using var demo = Server.Client(TokenGridServer.DemoKey);
        var many = $$"""{"model":"demo","prompt":[{{string.Join(',', Enumerable.Repeat("\"Hi\"", 129))}}],"max_tokens":1}""";
        Assert.Equal("prompt", await RefusedAsync(demo, many, HttpStatusCode.BadRequest, "invalid_value"));
        Assert.Equal("prompt", await RefusedAsync(demo, """{"model":"demo","prompt":["a","b"],"max_tokens":1,"n":65}""", HttpStatusCode.BadRequest, "invalid_value"));

        // Three prompts are three jobs, which a tenant that may run two at once could never be admitted for.
        var (tenant, key) = await Server.CreateTenantAsync(new { max_concurrent_jobs = 2 });
        using var client = Server.Client(key);
        Assert.Equal("prompt", await RefusedAsync(client, """{"model":"demo","prompt":["a","b","c"],"max_tokens":2}""", HttpStatusCode.BadRequest, "request_too_large"));
        Assert.Empty(await LedgerAsync(tenant));
        Assert.Empty((await (await client.GetAsync("v1/jobs")).ReadJsonAsync())["data"]!.AsArray());
    }

    [Fact]
    public async Task Every_prompt_form_is_answered_with_a_choice_per_prompt_or_refused_naming_prompt()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var answered = new (string Prompt, int Choices)[]
        {
            ("\"One\"", 1), ("[\"One\"]", 1), ("[1,2]", 1), ("[[1,2]]", 1),
            ("\"\"", 1), ("[\"\"]", 1), ("[[]]", 1), ("[\"a\",\"\"]", 2), ("[[1],[]]", 2),
            ("[\"One\",\"Two\"]", 2), ("[[1,2],[3]]", 2), ("[\"One\",\"One\",\"Two\"]", 3),
        };
        foreach (var (prompt, choices) in answered)
        {
            var reply = await client.PostOkAsync("v1/completions", $$"""{"model":"demo","prompt":{{prompt}},"max_tokens":1}""");
            Assert.True(reply["choices"]!.AsArray().Count == choices, $"{prompt}: {reply.ToJsonString()}");
        }

        // An empty list, mixed or of another type: 400 naming prompt, never a 5xx (nor a reply that drops a prompt).
        foreach (var prompt in new[]
        {
            "[]", "[\"a\",[1]]", "[[1],\"a\"]", "[1,\"a\"]", "[[1],2]", "[[\"a\"]]",
            "[null]", "[\"a\",null]", "[[1,-2],[3]]", "[[1],[99999999]]", "[{}]", "[[[1]]]",
        })
        {
            Assert.Equal("prompt", await RefusedAsync(client, $$"""{"model":"demo","prompt":{{prompt}},"max_tokens":1}""", HttpStatusCode.BadRequest, "invalid_value"));
        }
    }

    [Fact]
    public async Task The_context_length_refusal_names_the_longest_prompt_and_an_async_job_takes_one_prompt()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var longText = string.Concat(Enumerable.Repeat(" token", 600));
        var longest = Server.DemoModel().Encode(longText).Length;
        var refused = await client.PostAsync("v1/completions", Json(new { model = "demo", prompt = new[] { "Hi", longText, "Hello there" }, max_tokens = 2 }));
        var problem = await refused.AssertProblemAsync(HttpStatusCode.BadRequest, "context_length_exceeded");
        Assert.Equal("prompt", problem["error"]!["param"]!.GetValue<string>());
        var message = problem["error"]!["message"]!.GetValue<string>();
        Assert.Contains($"the prompt has {longest} tokens", message, StringComparison.Ordinal);
        Assert.Contains("prompt[1] is the longest of the 3 prompts", message, StringComparison.Ordinal);

        var job = await client.PostAsync("v1/jobs", Json(new { model = "demo", prompt = new[] { "One", "Two" }, max_tokens = 1 }));
        Assert.Equal("prompt", (await job.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value"))["error"]!["param"]!.GetValue<string>());
    }
}

/// <summary>The same on the postgres profile: one group admission and its ledger lines in PostgreSQL.</summary>
[Collection(PostgresServerCollection.Name)]
public sealed class PostgresPromptBatchTests(PostgresServerFixture fixture) : PromptBatchSuite(fixture.Server);

/// <summary>The prompt batch tests, run on each profile.</summary>
public abstract class PromptBatchSuite(TokenGridServer server)
{
    private const string Prompts = """["Echo me","The token office opened"]""";

    protected TokenGridServer Server => server;

    [Fact]
    public async Task Two_prompts_with_n_2_are_four_choices_in_OpenAIs_order_each_its_prompts_alone_and_charged_as_reported()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        const string Fields = """ "max_tokens":4,"n":2,"seed":11,"temperature":1.2,"ignore_eos":true,"echo":true""";
        var reply = await client.PostOkAsync("v1/completions", $$"""{"model":"demo","prompt":{{Prompts}},{{Fields}}}""");

        var choices = reply["choices"]!.AsArray();
        Assert.Equal([0, 1, 2, 3], choices.Select(c => c!["index"]!.GetValue<int>()));
        Assert.All(choices, c => Assert.Equal("length", c!["finish_reason"]!.GetValue<string>()));

        // Prompt i's choice j is at i × 2 + j, echoes its own prompt, and is what a request for that prompt alone gives.
        using var demo = Server.Client(TokenGridServer.DemoKey);
        var alone = new[]
        {
            await demo.PostOkAsync("v1/completions", $$"""{"model":"demo","prompt":"Echo me",{{Fields}}}"""),
            await demo.PostOkAsync("v1/completions", $$"""{"model":"demo","prompt":"The token office opened",{{Fields}}}"""),
        };
        for (var i = 0; i < 4; i++)
        {
            var text = choices[i]!["text"]!.GetValue<string>();
            Assert.StartsWith(i < 2 ? "Echo me" : "The token office opened", text, StringComparison.Ordinal);
            Assert.Equal(alone[i / 2]["choices"]![i % 2]!["text"]!.GetValue<string>(), text);
        }

        Assert.NotEqual(choices[0]!["text"]!.GetValue<string>(), choices[1]!["text"]!.GetValue<string>());

        // Each prompt once, every choice's completion.
        var usage = reply["usage"]!;
        var prompt = alone.Sum(a => a["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal((prompt, 16, prompt + 16), (usage["prompt_tokens"]!.GetValue<int>(), usage["completion_tokens"]!.GetValue<int>(), usage["total_tokens"]!.GetValue<int>()));

        // Four jobs of the tenant, the reply named after the first; one group admission, charged exactly the usage.
        var jobs = (await (await client.GetAsync("v1/jobs?limit=10")).ReadJsonAsync())["data"]!.AsArray().Select(j => j!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(4, jobs.Count);
        Assert.Contains(reply["id"]!.GetValue<string>()["cmpl-".Length..], jobs);
        await client.AssertEveryJobEndedAndSettledAsync(jobs);

        var ledger = await LedgerAsync(tenant);
        var reserves = ledger.Where(e => e["kind"]!.GetValue<string>() == "reserve").ToList();
        var charges = ledger.Where(e => e["kind"]!.GetValue<string>() == "charge").ToList();
        Assert.Equal(4, reserves.Count);
        Assert.Equal(prompt + (4 * 4), reserves.Sum(r => r["tokens"]!.GetValue<long>()));
        Assert.Equal(4, charges.Count);
        Assert.Equal(prompt, charges.Sum(c => c["prompt_tokens"]!.GetValue<long>()));
        Assert.Equal(16, charges.Sum(c => c["completion_tokens"]!.GetValue<long>()));
        Assert.Equal(2, charges.Count(c => c["prompt_tokens"]!.GetValue<long>() > 0));
    }

    [Fact]
    public async Task Streamed_prompts_carry_each_choices_index_and_one_usage_for_all_as_the_whole_reply()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        const string Body = """{"model":"demo","prompt":[[1527,374],[9906,1917,11,1070]],"max_tokens":3,"n":2,"seed":4,"temperature":1,"ignore_eos":true,"logprobs":1""";
        var whole = await client.PostOkAsync("v1/completions", Body + "}");
        var chunks = await client.StreamAsync("v1/completions", Body + ""","stream":true,"stream_options":{"include_usage":true}}""");

        var usage = Assert.Single(chunks, c => c["usage"] is JsonObject);
        Assert.Same(chunks[^1], usage);
        Assert.Equal(whole["usage"]!.ToJsonString(), usage["usage"]!.ToJsonString());
        Assert.Equal(2 + 4, whole["usage"]!["prompt_tokens"]!.GetValue<int>());

        var parts = chunks[..^1].Select(c => Assert.Single(c["choices"]!.AsArray())!).ToList();
        Assert.Equal([0, 1, 2, 3], parts.Select(p => p["index"]!.GetValue<int>()).Distinct().Order());
        for (var i = 0; i < 4; i++)
        {
            var mine = parts.Where(p => p["index"]!.GetValue<int>() == i).ToList();
            Assert.Same(mine[^1], Assert.Single(mine, p => p["finish_reason"] is JsonValue));
            var expected = whole["choices"]![i]!;
            Assert.Equal(expected["text"]!.GetValue<string>(), string.Concat(mine.Select(p => p["text"]!.GetValue<string>())));

            // Log probabilities per choice, their offsets from the start of that choice's own text.
            var logprobs = expected["logprobs"]!;
            var offsets = logprobs["text_offset"]!.AsArray().Select(o => o!.GetValue<int>()).ToList();
            var tokens = logprobs["tokens"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
            Assert.Equal(3, tokens.Count);
            Assert.Equal(0, offsets[0]);
            Assert.Equal(offsets, mine.SelectMany(p => p["logprobs"] is JsonObject l ? l["text_offset"]!.AsArray().Select(o => o!.GetValue<int>()) : []));
        }
    }

    [Fact]
    public async Task A_batch_the_budget_covers_one_prompt_of_is_429_and_nothing_is_queued_or_charged()
    {
        // One prompt of a token or two and 15 tokens fits in 40; three need 45 and their prompts.
        var (tenant, key) = await Server.CreateTenantAsync(new { period_quota = 40 });
        using var client = Server.Client(key);
        const string Body = """{"model":"demo","prompt":["Hi","Yo","Hey"],"max_tokens":15}""";
        var refused = await client.PostAsync("v1/completions", new StringContent(Body, Encoding.UTF8, "application/json"));
        await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "request_exceeds_quota");

        Assert.Empty(await LedgerAsync(tenant));
        Assert.Empty((await (await client.GetAsync("v1/jobs")).ReadJsonAsync())["data"]!.AsArray());
        var usage = await (await client.GetAsync("v1/usage")).ReadJsonAsync();
        Assert.Equal((0L, 0), (usage["reserved"]!.GetValue<long>(), usage["open_jobs"]!.GetValue<int>()));

        var one = await client.PostOkAsync("v1/completions", Body.Replace("""["Hi","Yo","Hey"]""", """["Hi"]""", StringComparison.Ordinal));
        Assert.Single(one["choices"]!.AsArray());
    }

    [Fact]
    public async Task An_empty_prompt_starts_from_the_beginning_of_sequence_token_charged_as_the_one_prompt_token()
    {
        // OpenAI serves prompt "" too: the model starts from its beginning-of-sequence token, the demo model's <|endoftext|>.
        var (tenant, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        var bos = Server.DemoModel().BeginningOfSequence;
        Assert.NotNull(bos);

        var texts = new List<string>();
        foreach (var prompt in new[] { "\"\"", "[\"\"]", "[[]]" })
        {
            foreach (var echo in new[] { false, true })
            {
                var reply = await client.PostOkAsync("v1/completions",
                    $$"""{"model":"demo","prompt":{{prompt}},"max_tokens":3,"temperature":0,"ignore_eos":true,"echo":{{(echo ? "true" : "false")}}}""");
                Assert.Equal((1, 3), (reply["usage"]!["prompt_tokens"]!.GetValue<int>(), reply["usage"]!["completion_tokens"]!.GetValue<int>()));
                texts.Add(Assert.Single(reply["choices"]!.AsArray())!["text"]!.GetValue<string>());
            }
        }

        // The same start each time, and an echo of an empty prompt shows nothing (not the token it starts from).
        Assert.Single(texts.Distinct(StringComparer.Ordinal));
        var bosText = Server.DemoModel().Decode([bos.Value]);
        Assert.DoesNotContain(texts, t => t.StartsWith(bosText, StringComparison.Ordinal));

        // The ledger charges what usage says: one prompt token each (the start), three completion tokens each.
        var charges = (await LedgerAsync(tenant)).Where(e => e["kind"]!.GetValue<string>() == "charge").ToList();
        Assert.Equal(6, charges.Count);
        Assert.All(charges, c => Assert.Equal((1L, 3L), (c["prompt_tokens"]!.GetValue<long>(), c["completion_tokens"]!.GetValue<long>())));

        // The same start as the token itself, sent as the prompt.
        var explicitStart = await client.PostOkAsync("v1/completions", $$"""{"model":"demo","prompt":[{{bos}}],"max_tokens":3,"temperature":0,"ignore_eos":true}""");
        Assert.Equal(texts[0], explicitStart["choices"]![0]!["text"]!.GetValue<string>());
    }

    protected static StringContent Json(object body) => new(System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>Posts <paramref name="body"/> to completions, asserts the problem, and returns its <c>param</c>.</summary>
    protected static async Task<string?> RefusedAsync(HttpClient client, string body, HttpStatusCode status, string code)
    {
        var response = await client.PostAsync("v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(status, code);
        return problem["error"]!["param"]?.GetValue<string>();
    }

    protected async Task<List<JsonObject>> LedgerAsync(string tenant)
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var page = await (await admin.GetAsync($"admin/tenants/{tenant}/ledger?after=0&limit=100")).ReadJsonAsync();
        return [.. page["entries"]!.AsArray().Select(e => e!.AsObject())];
    }
}
