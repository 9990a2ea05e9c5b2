using System.ClientModel;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Silo.Tests.Database;
using TokenGrid.Silo.Tests.Support;
using Xunit.Abstractions;

namespace TokenGrid.Silo.Tests.Billing;

/// <summary>
/// An auditor's month on PostgreSQL: real, mixed traffic of three tenants (priced, with a plan, a subsidy, a spend cap
/// and a rate card change in the middle), then the four views of it reconciled (docs/billing.md, "Reconciling a month"):
/// the ledger, the statement, the usage API and the Prometheus token counters, tokens exactly and money to the micro.
/// </summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class MonthReconciliationTests(ITestOutputHelper output)
{
    private const string Program = "books-public";

    [Fact]
    public async Task A_month_of_mixed_traffic_agrees_in_the_ledger_the_statement_the_usage_API_and_the_token_counters()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var settings = PostgresSilo.Settings(database.ConnectionString, $"pg-books-{Guid.NewGuid():N}");
        settings["TokenGrid:Models:DemoSpec:ContextLength"] = "4096";

        // One sequence at a time: a job queued behind a long one times out however fast the machine is, and every
        // other job has the node to itself (none is preempted, and no choice of an n > 1 request copies its sibling's prompt).
        settings["TokenGrid:Nodes:Engine:MaxBatchSize"] = "1";
        settings["TokenGrid:Api:JobTimeout"] = "00:00:08";
        settings["TokenGrid:Nodes:Labels:region"] = "north";
        await using var server = await TokenGridServer.StartAsync(settings);
        using var admin = server.Client(TokenGridServer.AdminKey);
        using var anonymous = server.Client(null);

        // The node's first run loads the model; the demo tenant's request takes that wait before anything is priced or counted.
        using var demo = server.Client(TokenGridServer.DemoKey);
        await demo.PostOkAsync("v1/completions", """{"model":"demo","prompt":"Warm up","max_tokens":4}""");
        var first = await PublishAsync(admin, "1.00", "2.00", "1.50");
        (await admin.PutAsJsonAsync($"admin/subsidies/{Program}", new { share_bps = 4_000, budget_per_period = "100.00" })).EnsureSuccessStatusCode();
        var (subsidized, subsidizedKey) = await server.CreateTenantAsync(new { subsidy_program = Program, home_region = "south" });
        var (partner, partnerKey) = await server.CreateTenantAsync(new { plan = new { name = "partner", discount_basis_points = 1_000 }, max_concurrent_jobs = 4 });
        var (capped, cappedKey) = await server.CreateTenantAsync(new { spend_cap = "0.000001" });
        using var a = server.Client(subsidizedKey);
        using var b = server.Client(partnerKey);
        using var c = server.Client(cappedKey);
        var before = Counters(await anonymous.GetStringAsync("metrics"));

        // Tenant A at the first price: chat and legacy, streamed and not, n > 1, echo, structured output, an async job,
        // and the same long prompt twice (a prefix cache hit, priced as any prompt token).
        await a.PostOkAsync("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"Hello"}],"max_tokens":16}""");
        await a.StreamAsync("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"Stream"}],"max_tokens":16,"stream":true,"stream_options":{"include_usage":true}}""");
        await a.PostOkAsync("v1/completions", """{"model":"demo","prompt":"Echo this","max_tokens":8,"echo":true}""");
        await a.StreamAsync("v1/completions", """{"model":"demo","prompt":"Legacy stream","max_tokens":8,"stream":true}""");
        await a.PostOkAsync("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"Two"}],"max_tokens":8,"n":2,"ignore_eos":true}""");
        await a.PostOkAsync("v1/completions", """{"model":"demo","prompt":"Three","max_tokens":6,"n":3,"echo":true,"ignore_eos":true}""");
        await a.PostOkAsync("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"JSON please"}],"max_tokens":24,"response_format":{"type":"json_object"}}""");
        var longPrompt = string.Join(' ', Enumerable.Repeat("the same long system prompt", 24));
        for (var i = 0; i < 2; i++)
        {
            await a.PostOkAsync("v1/chat/completions", JsonSerializer.Serialize(new { model = "demo", messages = new[] { new { role = "user", content = longPrompt } }, max_tokens = 4 }));
        }

        var queued = await (await a.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "An async job", max_tokens = 12 })).ReadJsonAsync(HttpStatusCode.Accepted);
        await WaitForEndAsync(a, queued["id"]!.GetValue<string>());

        // The rate card changes in the middle of the month: later jobs are priced by the new version.
        var second = await PublishAsync(admin, "1.10", "2.20", "1.65");

        // Tenant B, with a plan: a stream it cancels, a client that goes away, and two jobs that time out (failed): a
        // stream holding the node's only slot, then a completion queued behind it, which is answered 504.
        await a.PostOkAsync("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"New price"}],"max_tokens":10}""");
        var cancelled = await StreamUntilTextAsync(b, async (client, job) => (await client.PostAsync($"v1/jobs/{job}/cancel", null)).EnsureSuccessStatusCode());
        var disconnected = await StreamUntilTextAsync(b, (_, _) => Task.CompletedTask);
        var holder = await StreamUntilTextAsync(b, async (client, _) =>
        {
            var queuedBehind = await client.PostAsync("v1/completions", new StringContent(
                """{"model":"demo","prompt":"a long one","max_tokens":4000,"ignore_eos":true}""", Encoding.UTF8, "application/json"));
            await queuedBehind.AssertProblemAsync(HttpStatusCode.GatewayTimeout, "job_timed_out");
        });
        await WaitForEndAsync(b, cancelled);
        await WaitForEndAsync(b, disconnected);
        await WaitForEndAsync(b, holder);
        await b.PostOkAsync("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"After"}],"max_tokens":8}""");

        // Tenant C: refused at admission by its spend cap (it costs nothing), then the same request again once the cap is raised.
        // Sent through the official SDK at its default retries, as a client would: the request exceeds the whole cap, and
        // its 429 says x-should-retry: false, but the .NET SDK reads no such header and is refused again each time.
        var sdk = server.Chat(cappedKey);
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 8 };
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => sdk.CompleteChatAsync([new UserChatMessage("Retry me")], options));
        Assert.Equal(429, refused.Status);
        (await admin.PatchAsJsonAsync($"admin/tenants/{capped}", new { budget = new { spend_cap = "10.00" } })).EnsureSuccessStatusCode();
        await sdk.CompleteChatAsync([new UserChatMessage("Retry me")], options);

        foreach (var client in new[] { a, b, c })
        {
            var seen = (await (await client.GetAsync("v1/jobs?limit=100")).ReadJsonAsync())["data"]!.AsArray().Select(j => j!.AsObject());
            await client.AssertEveryJobEndedAndSettledAsync(
                [.. seen.Where(j => j["status"]!.GetValue<string>() != "rejected").Select(j => j["id"]!.GetValue<string>())]);
        }

        var after = Counters(await anonymous.GetStringAsync("metrics"));
        var month = StatementPeriod.Of(DateTimeOffset.UtcNow);
        var totals = new Tally();
        var statuses = new List<string>();
        var admitted = 0;
        var dues = new Dictionary<string, long>();
        foreach (var (tenant, client) in new[] { (subsidized, a), (partner, b), (capped, c) })
        {
            var ledger = await admin.LedgerAsync(tenant);
            var jobs = (await (await client.GetAsync("v1/jobs?limit=100")).ReadJsonAsync())["data"]!.AsArray().Select(j => j!.AsObject()).ToList();
            var statement = await (await client.GetAsync($"v1/billing/statements/{month}")).ReadJsonAsync();
            var usage = await (await client.GetAsync("v1/usage")).ReadJsonAsync();
            var charges = ledger.Where(l => l["kind"]!.GetValue<string>() == "charge").ToList();
            output.WriteLine($"{tenant}: {jobs.Count} jobs, {ledger.Count} ledger lines");

            // Ledger = statement = usage API, per direction in tokens and in every column of money, to the micro.
            var fromLedger = Tally.OfLedger(charges);
            totals.Add(fromLedger);
            dues[tenant] = fromLedger.Due;
            var fromStatement = Tally.OfStatement(statement["lines"]!.AsArray().Select(l => l!.AsObject()));
            var fromTotals = Tally.OfStatement([statement["totals"]!.AsArray().Single()!.AsObject()]);
            var fromUsage = Tally.OfUsage(usage["daily"]!.AsArray().Select(d => d!.AsObject()));
            output.WriteLine($"  ledger {fromLedger}; statement {fromStatement}; usage {fromUsage}");
            Assert.Equal(fromLedger with { CachedPromptTokens = 0 }, fromStatement);
            Assert.Equal((fromLedger.List, fromLedger.Discount, fromLedger.Subsidy, fromLedger.Due), (fromTotals.List, fromTotals.Discount, fromTotals.Subsidy, fromTotals.Due));
            Assert.Equal(fromLedger with { CachedPromptTokens = 0 }, fromUsage);
            var model = Assert.Single(usage["models"]!.AsArray())!;
            Assert.Equal(
                (fromLedger.PromptTokens, fromLedger.CompletionTokens, (long)charges.Count, 0L),
                (model["prompt_tokens"]!.GetValue<long>(), model["completion_tokens"]!.GetValue<long>(), model["requests"]!.GetValue<long>(), model["reserved_tokens"]!.GetValue<long>()));
            Assert.Equal((fromLedger.PromptTokens + fromLedger.CompletionTokens, 0L, 0), (usage["charged"]!.GetValue<long>(), usage["reserved"]!.GetValue<long>(), usage["open_jobs"]!.GetValue<int>()));
            Assert.Equal(0L, ledger[^1]["reserved_after"]!.GetValue<long>());
            Assert.Equal(0L, ledger[^1]["spend_reserved_after"]!.GetValue<long>());
            Assert.Equal(fromLedger.Due, ledger[^1]["spend_charged_after"]!.GetValue<long>());

            // The tenant's own series agree with its ledger (the tenants are among the published ones, docs/metrics.md).
            Assert.Equal(fromLedger.PromptTokens + fromLedger.CompletionTokens, after.Get("tokengrid_tenant_budget_charged_tokens", $"tenant=\"{tenant}\""));
            Assert.Equal(fromLedger.Due, after.Get("tokengrid_tenant_spend_charged_micros", $"tenant=\"{tenant}\""));

            // Each priced line is its tokens at the version's unit price, rounded once, half to even; the plan's
            // discount and the program's share are basis points of what is before them, rounded the same way.
            foreach (var charge in charges)
            {
                var priced = charge["priced"]!;
                var version = priced["price_version"]!.GetValue<int>();
                Assert.Contains(version, new[] { first, second });
                // Completion is priced where it was created: the north node's price, or the list price for a job that
                // never reached a node (a queued job that timed out: no place, and nothing produced to price).
                var north = priced["place"]?["region"]?.GetValue<string>() == "north";
                foreach (var line in priced["lines"]!.AsArray())
                {
                    var prompt = line!["direction"]!.GetValue<string>() == "prompt";
                    if (!north)
                    {
                        Assert.Equal(0, line["tokens"]!.GetValue<long>());
                    }

                    var unit = version == first ? (prompt ? 1.00m : north ? 1.50m : 2.00m) : (prompt ? 1.10m : north ? 1.65m : 2.20m);
                    Assert.Equal(unit, decimal.Parse(line["unit_price"]!.GetValue<string>(), CultureInfo.InvariantCulture));
                    var list = HalfEven(line["tokens"]!.GetValue<long>() * unit);
                    var discount = tenant == partner ? HalfEven(list * 0.1m) : 0;
                    var subsidy = tenant == subsidized ? HalfEven((list - discount) * 0.4m) : 0;
                    Assert.Equal((list, discount, subsidy, list - discount - subsidy), (Micros(line["list"]), Micros(line["discount"]), Micros(line["subsidy"]), Micros(line["tenant"])));
                }
            }

            // Every job the tenant sees is reserved once and settled once (charge + refund = reserve), its charge what
            // its view says it was charged; a job refused at admission has no line at all and says why.
            foreach (var job in jobs)
            {
                var id = job["id"]!.GetValue<string>();
                var lines = ledger.Where(l => l["job_id"]!.GetValue<string>() == id).ToList();
                var status = job["status"]!.GetValue<string>();
                statuses.Add(status);
                output.WriteLine($"  {id} {status} charged={job["charged_tokens"]} usage={job["usage"]!.ToJsonString()} rejection={job["rejection"]} lines={string.Join(",", lines.Select(l => $"{l["kind"]}:{l["tokens"]}"))}");
                if (status == "rejected")
                {
                    Assert.Empty(lines);
                    Assert.Null(job["charged_tokens"]);
                    Assert.Equal("spend_cap_reached", job["rejection"]!.GetValue<string>());
                    continue;
                }

                admitted++;
                Assert.Equal(["charge", "refund", "reserve"], lines.Select(l => l["kind"]!.GetValue<string>()).Order(StringComparer.Ordinal));
                long Tokens(string kind) => lines.Single(l => l["kind"]!.GetValue<string>() == kind)["tokens"]!.GetValue<long>();
                long Spend(string kind) => lines.Single(l => l["kind"]!.GetValue<string>() == kind)["spend_micros"]!.GetValue<long>();
                Assert.Equal(job["charged_tokens"]!.GetValue<long>(), Tokens("charge"));
                Assert.Equal(Tokens("reserve"), Tokens("charge") + Tokens("refund"));
                Assert.Equal(Spend("reserve"), Spend("charge") + Spend("refund"));
            }
        }

        // The token counters: per model, the prompt tokens the node prefilled and the tokens it relayed, against what
        // was charged. Documented differences (docs/billing.md, "Reconciling a month"): a choice of an n > 1 request
        // that did not copy its sibling's prompt prefills (and counts) it again, though only the first choice is charged
        // for it; a job stopped while reading (cancelled, disconnected, timed out) may have been handed one chunk (at
        // most 64 tokens) it never took and is not charged for.
        var ledgerTokens = totals.PromptTokens + totals.CompletionTokens;
        var prefilled = after.Get("tokengrid_prompt_tokens_total", "model=\"demo\"") - before.Get("tokengrid_prompt_tokens_total", "model=\"demo\"");
        var relayed = after.Get("tokengrid_generation_tokens_total", "model=\"demo\"") - before.Get("tokengrid_generation_tokens_total", "model=\"demo\"");
        output.WriteLine($"all: ledger {totals}; counters prompt {prefilled} generated {relayed}");
        Assert.Equal(totals.PromptTokens + (6 * 1) + (1 * 2), prefilled);
        Assert.InRange(relayed, totals.CompletionTokens, totals.CompletionTokens + (64 * statuses.Count(s => s is "cancelled" or "failed")));
        Assert.Equal(0, after.Get("tokengrid_preemptions_total", "model=\"demo\"") - before.Get("tokengrid_preemptions_total", "model=\"demo\""));
        Assert.Equal(admitted, after.Get("tokengrid_admissions_total", "model=\"demo\"") - before.Get("tokengrid_admissions_total", "model=\"demo\""));
        // The SDK's three retries of the refused request are three more rejected jobs (docs/billing.md).
        Assert.Equal(4, statuses.Count(s => s == "rejected"));
        Assert.Equal(
            statuses.Count(s => s == "rejected"),
            after.Get("tokengrid_rejections_total", "reason=\"spend_cap_reached\"") - before.Get("tokengrid_rejections_total", "reason=\"spend_cap_reached\""));

        // Prompt tokens taken from the prefix cache (priced as any prompt token) are the cache's own count.
        Assert.Equal(
            totals.CachedPromptTokens,
            after.Get("tokengrid_node_prefix_cache_cached_tokens_total", "model=\"demo\"") - before.Get("tokengrid_node_prefix_cache_cached_tokens_total", "model=\"demo\""));
        Assert.True(totals.CachedPromptTokens > 0, "The repeated prompt was not a prefix cache hit.");
        foreach (var outcome in new[] { "succeeded", "failed", "cancelled", "rejected" })
        {
            Assert.Equal(
                statuses.Count(s => s == outcome),
                after.Get("tokengrid_requests_total", $"outcome=\"{outcome}\"") - before.Get("tokengrid_requests_total", $"outcome=\"{outcome}\""));
        }

        // Oversight: the month's flows add up to the same money, and the program, once its blocks are returned, has
        // spent exactly the subsidies on the ledger.
        var flows = (await (await admin.GetAsync($"admin/flows?period={month}")).ReadJsonAsync())["data"]!.AsArray().Select(f => f!.AsObject()).ToList();
        Assert.Equal(
            (totals.PromptTokens, totals.CompletionTokens, totals.List, totals.Discount, totals.Subsidy, totals.Due),
            (flows.Sum(f => f["prompt_tokens"]!.GetValue<long>()), flows.Sum(f => f["completion_tokens"]!.GetValue<long>()), flows.Sum(f => Micros(f["list"])),
             flows.Sum(f => Micros(f["discount"])), flows.Sum(f => Micros(f["subsidy"])), flows.Sum(f => Micros(f["amount_due"]))));
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        JsonObject program;
        while ((program = await (await admin.GetAsync($"admin/subsidies/{Program}")).ReadJsonAsync())["reserved"]!.GetValue<string>() != "0.000000" && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        output.WriteLine($"program {program.ToJsonString()}");
        Assert.Equal((totals.Subsidy, 0L), (Micros(program["spent"]), Micros(program["reserved"])));

        // A late line: last month is closed, then a charge dated in it is stored. It is billed with this month's
        // statement, marked, and every statement of the tenant together holds everything its ledger charged.
        var lastMonth = StatementPeriod.Of(month.Start.AddDays(-1));
        (await admin.PostAsync($"admin/periods/{lastMonth}/close", null)).EnsureSuccessStatusCode();
        var late = await PricedLedger.AppendAsync(server.Services, capped, [PricedLedger.Charge(capped, 0, lastMonth.Start.AddDays(20), 500, 700, "1.00", "1.50", version: first)]);
        var withLate = await (await c.GetAsync($"v1/billing/statements/{month}")).ReadJsonAsync();
        var lateLines = withLate["lines"]!.AsArray().Where(l => l!["late_from"] is not null).Select(l => l!.AsObject()).ToList();
        Assert.All(lateLines, l => Assert.Equal(lastMonth.ToString(), l["late_from"]!.GetValue<string>()));
        Assert.Equal(late.Sum(l => l.Priced!.Tenant.Micros), lateLines.Sum(l => Micros(l["amount_due"])));
        var listed = (await (await c.GetAsync("v1/billing/statements")).ReadJsonAsync())["data"]!.AsArray();
        var cLedger = await admin.LedgerAsync(capped);
        Assert.Equal(
            cLedger.Where(l => l["kind"]!.GetValue<string>() == "charge").Sum(l => l["priced"] is null ? 0 : Tally.OfLedger([l.AsObject()]).Due),
            listed.Sum(st => Micros(st!["totals"]!.AsArray().SingleOrDefault()?["amount_due"])));

        // The spend view: each tenant's month (its statement's own lines, not the late ones) and the month's revenue.
        var overview = await (await admin.GetAsync("admin/billing/overview")).ReadJsonAsync();
        var spenders = overview["tenants"]!.AsArray().ToDictionary(t => t!["id"]!.GetValue<string>(), t => t!.AsObject());
        foreach (var (tenant, due) in dues)
        {
            Assert.Equal((due, due), (Micros(spenders[tenant]["month_amount_due"]), Micros(spenders[tenant]["spend_charged"])));
        }

        var revenue = overview["revenue"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.Equal(
            (totals.PromptTokens + totals.CompletionTokens, totals.List, totals.Discount, totals.Subsidy, totals.Due),
            (revenue.Sum(r => r["tokens"]!.GetValue<long>()), revenue.Sum(r => Micros(r["list"])), revenue.Sum(r => Micros(r["discount"])),
             revenue.Sum(r => Micros(r["subsidy"])), revenue.Sum(r => Micros(r["amount_due"]))));
    }

    private static long HalfEven(decimal micros) => (long)Math.Round(micros, MidpointRounding.ToEven);

    private static long Micros(JsonNode? amount) =>
        amount is null ? 0 : (long)(decimal.Parse(amount.GetValue<string>(), CultureInfo.InvariantCulture) * 1_000_000m);

    private static async Task<int> PublishAsync(HttpClient admin, string prompt, string completion, string northCompletion)
    {
        var published = await (await admin.PutAsJsonAsync("admin/prices", new
        {
            currency = "USD",
            prices = new object[]
            {
                new { model = TokenGridServer.Model, direction = "prompt", per_million = prompt },
                new { model = TokenGridServer.Model, direction = "completion", per_million = completion },
                new { model = TokenGridServer.Model, direction = "completion", region = "north", per_million = northCompletion },
            },
        })).ReadJsonAsync();
        var from = published["effective_from"]!.GetValue<DateTimeOffset>();
        if (from > DateTimeOffset.UtcNow)
        {
            // The card takes effect at most one lease (2 s) after it is published; admissions wait for nothing else.
            await Task.Delay(from - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(50));
        }

        return published["version"]!.GetValue<int>();
    }

    /// <summary>Streams a long chat until its first text, runs <paramref name="then"/>, and leaves; returns the job id.</summary>
    private static async Task<string> StreamUntilTextAsync(HttpClient client, Func<HttpClient, string, Task> then)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(
                """{"model":"demo","messages":[{"role":"user","content":"Tell me a long story."}],"max_tokens":4000,"ignore_eos":true,"stream":true}""",
                Encoding.UTF8, "application/json"),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        JsonObject? chunk;
        do
        {
            chunk = await events.ReadJsonAsync();
            Assert.NotNull(chunk);
        }
        while (chunk["choices"]![0]!["delta"]!["content"]?.GetValue<string>() is null or "");

        var job = chunk["id"]!.GetValue<string>()["chatcmpl-".Length..];
        await then(client, job);
        return job;
    }

    private static async Task WaitForEndAsync(HttpClient client, string job)
    {
        using var events = await client.GetAsync($"v1/jobs/{job}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, events.StatusCode);
        await events.Content.ReadAsStringAsync();
    }

    /// <summary>Every TokenGrid series of a scrape: its name with labels, and its value.</summary>
    private static Scrape Counters(string text) => new([.. text.Split('\n')
        .Where(l => l.StartsWith("tokengrid_", StringComparison.Ordinal))
        .Select(l => (l[..l.LastIndexOf(' ')], double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))]);

    private sealed record Scrape(List<(string Series, double Value)> Values)
    {
        /// <summary>The sum of the series named <paramref name="name"/> whose labels include <paramref name="label"/>.</summary>
        public long Get(string name, string label) => (long)Values
            .Where(v => v.Series.StartsWith(name + "{", StringComparison.Ordinal) && v.Series.Contains(label, StringComparison.Ordinal))
            .Sum(v => v.Value);
    }

    /// <summary>Tokens per direction and the money of a set of lines, in micros.</summary>
    private sealed record Tally
    {
        public long PromptTokens { get; set; }
        public long CompletionTokens { get; set; }
        public long CachedPromptTokens { get; set; }
        public long List { get; set; }
        public long Discount { get; set; }
        public long Subsidy { get; set; }
        public long Due { get; set; }

        public void Add(Tally other)
        {
            PromptTokens += other.PromptTokens;
            CompletionTokens += other.CompletionTokens;
            CachedPromptTokens += other.CachedPromptTokens;
            List += other.List;
            Discount += other.Discount;
            Subsidy += other.Subsidy;
            Due += other.Due;
        }

        public static Tally OfLedger(IEnumerable<JsonObject> charges)
        {
            var tally = new Tally();
            foreach (var charge in charges)
            {
                tally.PromptTokens += charge["prompt_tokens"]!.GetValue<long>();
                tally.CompletionTokens += charge["completion_tokens"]!.GetValue<long>();
                tally.CachedPromptTokens += charge["cached_prompt_tokens"]!.GetValue<long>();
                foreach (var line in charge["priced"]?["lines"]?.AsArray() ?? [])
                {
                    tally.List += Micros(line!["list"]);
                    tally.Discount += Micros(line["discount"]);
                    tally.Subsidy += Micros(line["subsidy"]);
                    tally.Due += Micros(line["tenant"]);
                }
            }

            return tally;
        }

        public static Tally OfStatement(IEnumerable<JsonObject> lines)
        {
            var tally = new Tally();
            foreach (var line in lines)
            {
                var tokens = line["tokens"]!.GetValue<long>();
                if (line["direction"]?.GetValue<string>() == "prompt")
                {
                    tally.PromptTokens += tokens;
                }
                else
                {
                    tally.CompletionTokens += tokens;
                }

                tally.AddMoney(line);
            }

            return tally;
        }

        public static Tally OfUsage(IEnumerable<JsonObject> days)
        {
            var tally = new Tally();
            foreach (var day in days)
            {
                tally.PromptTokens += day["prompt_tokens"]!.GetValue<long>();
                tally.CompletionTokens += day["completion_tokens"]!.GetValue<long>();
                tally.AddMoney(day);
            }

            return tally;
        }

        public override string ToString() =>
            $"prompt {PromptTokens} completion {CompletionTokens} list {List} discount {Discount} subsidy {Subsidy} due {Due}";

        private void AddMoney(JsonObject row)
        {
            List += Micros(row["list"]);
            Discount += Micros(row["discount"]);
            Subsidy += Micros(row["subsidy"]);
            Due += Micros(row["amount_due"]);
        }
    }
}
