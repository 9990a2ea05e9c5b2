using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>The prefix cache on the local profile, and its options as they reach the engines and the memory estimate.</summary>
[Collection(ServerCollection.Name)]
public sealed class PrefixCacheTests(ServerFixture fixture) : PrefixCacheSuite(fixture.Server)
{
    [Fact]
    public async Task With_prefix_cache_tokens_0_nothing_is_cached_and_the_nodes_memory_estimate_drops_by_the_caches_budget()
    {
        await using var off = await TokenGridServer.StartAsync(new Dictionary<string, string> { ["TokenGrid:Nodes:Engine:PrefixCacheTokens"] = "0" });
        var (_, key) = await off.CreateTenantAsync();
        var chat = Chat(off, key);

        await chat.CompleteChatAsync(Messages, Options);
        ChatCompletion repeated = await chat.CompleteChatAsync(Messages, Options);
        Assert.Equal(0, repeated.Usage.InputTokenDetails.CachedTokenCount);

        // The default server's node has the demo model loaded by now (this suite ran a request there, or runs one now).
        var (_, onKey) = await fixture.Server.CreateTenantAsync();
        await Chat(fixture.Server, onKey).CompleteChatAsync(Messages, Options);
        var withCache = await ReportAsync(fixture.Server);
        var without = await ReportAsync(off);
        Assert.Contains(TokenGridServer.Model, withCache.Models);
        Assert.Contains(TokenGridServer.Model, without.Models);
        Assert.Equal(fixture.Server.DemoModel().PrefixCacheBytes(16_384, 16), withCache.MemoryUsedBytes - without.MemoryUsedBytes);
        Assert.True(withCache.MemoryUsedBytes - without.MemoryUsedBytes > 0);
    }

    private static Task<TokenGrid.Abstractions.Nodes.NodeReport> ReportAsync(TokenGridServer server) =>
        server.Grains.GetGrain<TokenGrid.Abstractions.Nodes.INodeGrain>($"{server.SiloName}/cpu0").GetReportAsync();
}

/// <summary>The prefix cache on the postgres profile: the ledger's cached prompt tokens go through the database.</summary>
[Collection(PostgresServerCollection.Name)]
public sealed class PostgresPrefixCacheTests(PostgresServerFixture fixture) : PrefixCacheSuite(fixture.Server);

/// <summary>
/// The engine's prefix cache as a tenant using the official OpenAI SDK sees it: a repeated long system prompt is
/// reported as <c>usage.prompt_tokens_details.cached_tokens</c> (streamed or not, chat or legacy completions) and
/// recorded on the ledger's charge line; another tenant's identical prompt never hits it, unless both opted into the
/// same shared scope. Each test makes its own tenants and scope names, so the node's cache holds nothing of theirs yet.
/// </summary>
public abstract class PrefixCacheSuite(TokenGridServer server)
{
    /// <summary>A system prompt of many 16-token blocks (about 130 tokens), well inside the demo model's 512.</summary>
    private static readonly string s_system = string.Concat(Enumerable.Repeat(
        "You are the archive assistant of a small museum; answer in one short sentence. ", 8));

    private static readonly ChatMessage[] s_messages = [new SystemChatMessage(s_system), new UserChatMessage("Name one object.")];

    /// <summary>A long system prompt and a short question.</summary>
    protected static IReadOnlyList<ChatMessage> Messages => s_messages;

    protected static ChatCompletionOptions Options => new() { MaxOutputTokenCount = 3, Temperature = 0 };

    [Fact]
    public async Task A_tenants_repeated_system_prompt_is_reported_cached_and_recorded_on_its_charge_but_never_for_another_tenant()
    {
        var (owner, ownerKey) = await server.CreateTenantAsync();
        var chat = Chat(ownerKey);

        ChatCompletion first = await chat.CompleteChatAsync(s_messages, Options);
        ChatCompletion second = await chat.CompleteChatAsync(s_messages, Options);
        var streamed = await StreamedUsageAsync(chat);

        Assert.Equal(0, Cached(first.Usage));
        var cached = Cached(second.Usage);
        Assert.True(cached >= 64, $"{cached} of {second.Usage.InputTokenCount} prompt tokens cached");
        Assert.True(cached < second.Usage.InputTokenCount, "at least the prompt's last token is computed");
        Assert.Equal(second.Usage.InputTokenCount, first.Usage.InputTokenCount);
        Assert.Equal(cached, Cached(streamed));

        // The auditor's ledger view: the charge line of each job records its cached prompt tokens.
        var charges = await ChargesAsync(owner);
        Assert.Equal(0, charges[JobId(first.Id)]["cached_prompt_tokens"]!.GetValue<long>());
        Assert.Equal(cached, charges[JobId(second.Id)]["cached_prompt_tokens"]!.GetValue<long>());
        Assert.Equal(second.Usage.InputTokenCount, charges[JobId(second.Id)]["prompt_tokens"]!.GetValue<long>());

        // Isolation: the same prompt from another tenant (its own scope by default) computes every token.
        var (other, otherKey) = await server.CreateTenantAsync();
        ChatCompletion stranger = await Chat(otherKey).CompleteChatAsync(s_messages, Options);
        Assert.Equal(0, Cached(stranger.Usage));
        Assert.Equal(0, (await ChargesAsync(other))[JobId(stranger.Id)]["cached_prompt_tokens"]!.GetValue<long>());
    }

    [Fact]
    public async Task Tenants_that_opt_into_the_same_shared_scope_hit_each_others_prefix_and_no_one_elses()
    {
        var scope = "public-" + Guid.NewGuid().ToString("N")[..12];
        var (_, firstKey) = await server.CreateTenantAsync(new { prefix_cache_scope = scope });
        var (sharer, secondKey) = await server.CreateTenantAsync(new { prefix_cache_scope = scope });
        var (_, outsiderKey) = await server.CreateTenantAsync(new { prefix_cache_scope = scope + "-other" });

        ChatCompletion seeded = await Chat(firstKey).CompleteChatAsync(s_messages, Options);
        ChatCompletion shared = await Chat(secondKey).CompleteChatAsync(s_messages, Options);
        ChatCompletion outside = await Chat(outsiderKey).CompleteChatAsync(s_messages, Options);

        Assert.Equal(0, Cached(seeded.Usage));
        Assert.True(Cached(shared.Usage) >= 64, $"{Cached(shared.Usage)} cached");
        Assert.Equal(Cached(shared.Usage), (await ChargesAsync(sharer))[JobId(shared.Id)]["cached_prompt_tokens"]!.GetValue<long>());
        Assert.Equal(0, Cached(outside.Usage));
    }

    [Fact]
    public async Task Legacy_completions_report_cached_tokens_whole_and_in_the_streamed_usage_chunk()
    {
        var (_, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);
        var body = new JsonObject { ["model"] = TokenGridServer.Model, ["prompt"] = s_system + "Object:", ["max_tokens"] = 3, ["temperature"] = 0 };

        var first = await client.PostOkAsync("v1/completions", body.ToJsonString());
        var second = await client.PostOkAsync("v1/completions", body.ToJsonString());
        body["stream"] = true;
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        var chunks = await client.StreamAsync("v1/completions", body.ToJsonString());

        Assert.Equal(0, first["usage"]!["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>());
        var cached = second["usage"]!["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>();
        Assert.True(cached >= 64, second.ToJsonString());
        var usage = Assert.Single(chunks, c => c["usage"] is JsonObject)["usage"]!;
        Assert.Equal(cached, usage["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>());
        Assert.Equal(second["usage"]!["prompt_tokens"]!.GetValue<int>(), usage["prompt_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task With_n_choices_the_whole_and_the_streamed_reply_report_the_cached_tokens_choice_0s_charge_records()
    {
        // The choices share one computation of the prompt (forked in the engine); the one that computed it took the
        // cached blocks, and every choice, the reply's usage and choice 0's charge (which counts the prompt) say so.
        var (owner, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);
        var body = new JsonObject { ["model"] = TokenGridServer.Model, ["prompt"] = s_system + "Object:", ["max_tokens"] = 3, ["temperature"] = 1, ["seed"] = 5 };
        await client.PostOkAsync("v1/completions", body.ToJsonString());
        body["n"] = 3;
        var whole = await client.PostOkAsync("v1/completions", body.ToJsonString());
        body["stream"] = true;
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        var chunks = await client.StreamAsync("v1/completions", body.ToJsonString());

        var cached = whole["usage"]!["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>();
        Assert.True(cached >= 64, whole.ToJsonString());
        var streamed = Assert.Single(chunks, c => c["usage"] is JsonObject)["usage"]!;
        Assert.Equal(cached, streamed["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>());

        var charges = await ChargesAsync(owner);
        foreach (var id in new[] { whole["id"]!.GetValue<string>(), chunks[0]["id"]!.GetValue<string>() })
        {
            var charge = charges[id["cmpl-".Length..]];
            Assert.Equal(whole["usage"]!["prompt_tokens"]!.GetValue<long>(), charge["prompt_tokens"]!.GetValue<long>());
            Assert.Equal(cached, charge["cached_prompt_tokens"]!.GetValue<long>());
        }
    }

    [Fact]
    public async Task The_scope_round_trips_through_the_admin_api_and_a_bad_name_is_a_400_naming_it()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var (id, _) = await server.CreateTenantAsync(new { prefix_cache_scope = "public.v1" });

        Assert.Equal("public.v1", (await BudgetAsync(await admin.GetAsync($"admin/tenants/{id}")))["prefix_cache_scope"]!.GetValue<string>());
        var patched = await BudgetAsync(await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { prefix_cache_scope = "team_2" } }));
        Assert.Equal("team_2", patched["prefix_cache_scope"]!.GetValue<string>());
        var kept = await BudgetAsync(await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { weight = 2 } }));
        Assert.Equal("team_2", kept["prefix_cache_scope"]!.GetValue<string>());
        var reset = await BudgetAsync(await admin.PutAsJsonAsync($"admin/tenants/{id}", new { budget = new { } }));
        Assert.Null(reset["prefix_cache_scope"]);

        foreach (var bad in new object[] { "has space", "tenant:x", "", new string('x', 65), 7 })
        {
            var patch = await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { prefix_cache_scope = bad } });
            var problem = await patch.AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains("prefix_cache_scope", problem["detail"]!.GetValue<string>());
            Assert.Equal("budget.prefix_cache_scope", problem["error"]!["param"]!.GetValue<string>());
        }

        var created = await admin.PostAsJsonAsync("admin/tenants", new { id = "t-" + Guid.NewGuid().ToString("N")[..12], budget = new { prefix_cache_scope = "no/slash" } });
        var refused = await created.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("prefix_cache_scope", refused["detail"]!.GetValue<string>());
        Assert.Equal("budget.prefix_cache_scope", refused["error"]!["param"]!.GetValue<string>());
        Assert.Null((await BudgetAsync(await admin.GetAsync($"admin/tenants/{id}")))["prefix_cache_scope"]);

        // The published description of the admin API names the field in the budget and in a patch of it.
        using var anonymous = server.Client(null);
        var schemas = JsonNode.Parse(await anonymous.GetStringAsync("openapi/v1.json"))!["components"]!["schemas"]!;
        Assert.NotNull(schemas["TenantBudget"]!["properties"]!["prefix_cache_scope"]);
        Assert.NotNull(schemas["TenantBudgetPatch"]!["properties"]!["prefix_cache_scope"]);
    }

    private ChatClient Chat(string key) => Chat(server, key);

    /// <summary>The official SDK's chat client for <paramref name="key"/> on <paramref name="on"/>.</summary>
    protected static ChatClient Chat(TokenGridServer on, string key) =>
        new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(on.BaseAddress, "v1") })
            .GetChatClient(TokenGridServer.Model);

    /// <summary>What the SDK reads as the prompt tokens taken from the cache.</summary>
    private static int Cached(ChatTokenUsage usage) => usage.InputTokenDetails.CachedTokenCount;

    /// <summary>The usage of a streamed reply: the SDK asks for the final usage chunk (<c>stream_options.include_usage</c>).</summary>
    private static async Task<ChatTokenUsage> StreamedUsageAsync(ChatClient chat)
    {
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(s_messages, Options))
        {
            usage ??= update.Usage;
        }

        return usage ?? throw new InvalidOperationException("The stream reported no usage.");
    }

    private static string JobId(string completionId) => completionId["chatcmpl-".Length..];

    /// <summary>The tenant's charge lines by job id, as the auditor reads them.</summary>
    private async Task<Dictionary<string, JsonNode>> ChargesAsync(string tenant)
    {
        using var auditor = server.Client(TokenGridServer.AuditorKey);
        var page = await (await auditor.GetAsync($"admin/tenants/{tenant}/ledger?after=0&limit=100")).ReadJsonAsync();
        return page["entries"]!.AsArray().Where(e => e!["kind"]!.GetValue<string>() == "charge")
            .ToDictionary(e => e!["job_id"]!.GetValue<string>(), e => e!);
    }

    private static async Task<JsonNode> BudgetAsync(HttpResponseMessage response) => (await response.ReadJsonAsync())["budget"]!;
}
