using System.ClientModel;
using System.Net;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// OpenAI's <c>n</c> &gt; 1 (issue 14): one job per choice, admitted together, the prompt prefilled once and billed once.
/// The .NET SDK's typed chat API shows only a reply's first choice, so its protocol method carries these requests.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ChoicesTests(ServerFixture fixture) : ChoicesSuite(fixture.Server);

/// <summary>The same on the postgres profile: group admission and its ledger lines in PostgreSQL.</summary>
[Collection(PostgresServerCollection.Name)]
public sealed class PostgresChoicesTests(PostgresServerFixture fixture) : ChoicesSuite(fixture.Server);

/// <summary>The n &gt; 1 tests, run on each profile.</summary>
public abstract class ChoicesSuite(TokenGridServer server)
{
    private const string Messages = """[{"role":"user","content":"Say something about tokens."}]""";

    private TokenGridServer Server => server;

    [Fact]
    public async Task Three_seeded_choices_are_distinct_reproducible_and_each_the_seed_plus_its_index()
    {
        var chat = Server.Chat();
        async Task<JsonObject> CompleteAsync(int n, int seed)
        {
            var body = $$"""{"model":"demo","messages":{{Messages}},"max_tokens":8,"temperature":1.2,"seed":{{seed}},"n":{{n}},"ignore_eos":true,"logprobs":true,"top_logprobs":2}""";
            ClientResult result = await chat.CompleteChatAsync(BinaryContent.Create(BinaryData.FromString(body)));
            return JsonNode.Parse(result.GetRawResponse().Content.ToString())!.AsObject();
        }

        var first = await CompleteAsync(3, 40);
        var again = await CompleteAsync(3, 40);
        var choices = first["choices"]!.AsArray();
        Assert.Equal([0, 1, 2], choices.Select(c => c!["index"]!.GetValue<int>()));
        var texts = Texts(first);
        Assert.Equal(3, texts.Distinct().Count());
        Assert.Equal(texts, Texts(again));
        Assert.All(choices, c =>
        {
            Assert.Equal("length", c!["finish_reason"]!.GetValue<string>());
            Assert.Equal(8, c["logprobs"]!["content"]!.AsArray().Count);
        });

        // Choice i samples with seed + i, so each equals a single request with that seed.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(texts[i], Texts(await CompleteAsync(1, 40 + i))[0]);
        }

        var single = await CompleteAsync(1, 40);
        var usage = first["usage"]!;
        Assert.Equal(single["usage"]!["prompt_tokens"]!.GetValue<int>(), usage["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(24, usage["completion_tokens"]!.GetValue<int>());
        Assert.Equal(usage["prompt_tokens"]!.GetValue<int>() + 24, usage["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_ledger_charges_the_prompt_once_and_every_choice_its_completion()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        var reply = await client.PostOkAsync("v1/completions",
            """{"model":"demo","prompt":"Echo me","max_tokens":5,"temperature":1,"n":3,"echo":true,"ignore_eos":true}""");

        var choices = reply["choices"]!.AsArray();
        Assert.Equal(3, choices.Count);
        Assert.All(choices, c => Assert.StartsWith("Echo me", c!["text"]!.GetValue<string>()));
        var prompt = reply["usage"]!["prompt_tokens"]!.GetValue<int>();
        Assert.Equal(15, reply["usage"]!["completion_tokens"]!.GetValue<int>());

        var ledger = await LedgerAsync(tenant);
        Lines(ledger, "reserve", out var reserves);
        Lines(ledger, "charge", out var charges);
        Lines(ledger, "refund", out var refunds);
        Assert.Equal(3, reserves.Count);
        Assert.Equal(prompt + (3 * 5), reserves.Sum(r => r["tokens"]!.GetValue<long>()));
        Assert.Equal(3, charges.Count);
        Assert.Equal(prompt + 15, charges.Sum(c => c["tokens"]!.GetValue<long>()));
        Assert.Equal(prompt, charges.Sum(c => c["prompt_tokens"]!.GetValue<long>()));
        Assert.Equal(15, charges.Sum(c => c["completion_tokens"]!.GetValue<long>()));
        Assert.Equal(1, charges.Count(c => c["prompt_tokens"]!.GetValue<long>() > 0));
        Assert.All(refunds, r => Assert.Equal(0, r["tokens"]!.GetValue<long>()));
    }

    [Fact]
    public async Task A_budget_for_one_choice_but_not_three_is_429_and_nothing_is_admitted()
    {
        // The prompt is a token or two: 1 choice of 15 fits in 40, 3 choices need 45 and the prompt.
        var (tenant, key) = await Server.CreateTenantAsync(new { period_quota = 40 });
        using var client = Server.Client(key);
        const string Body = """{"model":"demo","prompt":"Hi","max_tokens":15,"temperature":1,"n":3}""";
        var refused = await client.PostAsync("v1/completions", new StringContent(Body, System.Text.Encoding.UTF8, "application/json"));
        // 45 and the prompt exceed the whole quota: no wait helps, so the 429 says not to retry.
        await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "request_exceeds_quota");
        Assert.Equal(["false"], refused.Headers.GetValues("x-should-retry"));

        Assert.Empty(await LedgerAsync(tenant));
        var jobs = await (await client.GetAsync("v1/jobs")).ReadJsonAsync();
        Assert.Empty(jobs["data"]!.AsArray());

        var one = await client.PostOkAsync("v1/completions", Body.Replace("\"n\":3", "\"n\":1", StringComparison.Ordinal));
        Assert.Single(one["choices"]!.AsArray());
    }

    [Fact]
    public async Task More_choices_than_the_tenant_may_ever_run_at_once_are_400_naming_n()
    {
        var (tenant, key) = await Server.CreateTenantAsync(new { max_concurrent_jobs = 2 });
        using var client = Server.Client(key);
        var refused = await client.PostAsync("v1/chat/completions", new StringContent(
            $$"""{"model":"demo","messages":{{Messages}},"max_tokens":2,"n":3}""", System.Text.Encoding.UTF8, "application/json"));
        var problem = await refused.AssertProblemAsync(HttpStatusCode.BadRequest, "request_too_large");
        Assert.Equal("n", problem["error"]!["param"]!.GetValue<string>());
        Assert.Empty(await LedgerAsync(tenant));
    }

    [Fact]
    public async Task Streamed_choices_carry_their_index_end_one_by_one_and_report_usage_once()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        const string Body = """{"model":"demo","messages":[{"role":"user","content":"Count."}],"max_tokens":6,"temperature":1,"seed":9,"n":3,"ignore_eos":true""";
        var whole = await client.PostOkAsync("v1/chat/completions", Body + "}");
        var chunks = await client.StreamAsync("v1/chat/completions", Body + ""","stream":true,"stream_options":{"include_usage":true}}""");

        var usage = Assert.Single(chunks, c => c["usage"] is JsonObject);
        Assert.Same(chunks[^1], usage);
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.Equal(whole["usage"]!.ToJsonString(), usage["usage"]!.ToJsonString());

        var parts = chunks[..^1].Select(c => Assert.Single(c["choices"]!.AsArray())!).ToList();
        for (var i = 0; i < 3; i++)
        {
            var mine = parts.Where(p => p["index"]!.GetValue<int>() == i).ToList();
            Assert.Equal("assistant", mine[0]["delta"]!["role"]!.GetValue<string>());
            Assert.Equal("length", Assert.Single(mine, p => p["finish_reason"] is JsonValue)["finish_reason"]!.GetValue<string>());
            Assert.Same(mine[^1], mine.Single(p => p["finish_reason"] is JsonValue));
            var text = string.Concat(mine.Select(p => p["delta"]!["content"]?.GetValue<string>()));
            Assert.Equal(whole["choices"]![i]!["message"]!["content"]!.GetValue<string>(), text);
        }
    }

    private static List<string> Texts(JsonObject reply) =>
        [.. reply["choices"]!.AsArray().Select(c => c!["message"]!["content"]!.GetValue<string>())];

    private static void Lines(List<JsonObject> ledger, string kind, out List<JsonObject> lines) =>
        lines = [.. ledger.Where(e => e["kind"]!.GetValue<string>() == kind)];

    private async Task<List<JsonObject>> LedgerAsync(string tenant)
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var page = await (await admin.GetAsync($"admin/tenants/{tenant}/ledger?after=0&limit=100")).ReadJsonAsync();
        return [.. page["entries"]!.AsArray().Select(e => e!.AsObject())];
    }
}
