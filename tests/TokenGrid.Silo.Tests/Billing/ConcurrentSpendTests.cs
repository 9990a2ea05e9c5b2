using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Billing;

[Collection(BillingServerCollection.Name)]
public sealed class ConcurrentSpendTests(BillingServerFixture fixture) : ConcurrentSpendSuite(fixture.Server);

[Collection(PostgresBillingServerCollection.Name)]
public sealed class PostgresConcurrentSpendTests(PostgresBillingServerFixture fixture) : ConcurrentSpendSuite(fixture.Server);

/// <summary>
/// 200 requests at once against a spend cap and a subsidy program's budget, on one profile: neither is ever over by
/// one micro, every refusal is a 429 insufficient_quota, every admitted request has exactly one charge line, and the
/// program's spent is exactly the subsidy on those lines.
/// </summary>
public abstract class ConcurrentSpendSuite(TokenGridServer server)
{
    private const int Requests = 200;
    private const int MaxTokens = 16;
    private const int ShareBps = 4000;
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    private static object Body => new { model = TokenGridServer.Model, prompt = "Hello", max_tokens = MaxTokens, temperature = 0 };

    [Fact]
    public async Task Two_hundred_concurrent_requests_never_overspend_the_cap_or_the_program_and_settle_exactly_once()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);

        // One request alone, on a tenant of its own, says what a request costs (the billing card: prompt 1.00, completion
        // 2.00, 1.50 in "north" where the tokens are made; greedy, so every request generates the same).
        var (_, probeKey) = await server.CreateTenantAsync(Budget(null, null));
        using var probe = server.Client(probeKey);
        var probed = (await (await probe.PostJsonAsync("v1/completions", Body)).ReadJsonAsync())["usage"]!;
        long prompt = probed["prompt_tokens"]!.GetValue<int>(), completion = probed["completion_tokens"]!.GetValue<int>();
        Money promptLine = Pricing.Amount(prompt, new Money(1_000_000)), mostCompletion = Pricing.Amount(MaxTokens, new Money(2_000_000));
        var most = promptLine + mostCompletion;
        var subsidy = Pricing.Share(promptLine, ShareBps) + Pricing.Share(Pricing.Amount(completion, new Money(1_500_000)), ShareBps);
        Assert.True(subsidy > Money.Zero);

        // Both limits bind: the cap admits at least 80 requests (each holds at most `most`) and at most about 120 (each
        // costs the tenant its full price once the program has nothing left), and the program's budget pays for at most
        // 20, fewer while it holds the most possible subsidy of each request it reserved for.
        var cap = new Money(80 * most.Micros);
        var budget = new Money(20 * subsidy.Micros);
        var program = "program-" + Guid.NewGuid().ToString("N")[..12];
        await (await admin.PutAsJsonAsync($"admin/subsidies/{program}", new
        {
            share_bps = ShareBps, budget_per_period = budget.ToString(), on_exhausted = "full_price",
        })).ReadJsonAsync();
        var (tenant, key) = await server.CreateTenantAsync(Budget(cap, program));
        using var client = server.Client(key);

        // One request first, alone: the program pays its share in full. (In the burst, the program reserves before the
        // tenant decides, so its budget may be held, then given back, by requests the cap refuses: which admitted
        // requests it pays depends on arrival order.)
        var first = (await (await client.PostJsonAsync("v1/completions", Body)).ReadJsonAsync())["id"]!.GetValue<string>()["cmpl-".Length..];

        // While the requests run, the program is read over and over: spent + reserved never passes the budget.
        using var stop = new CancellationTokenSource();
        var samples = new ConcurrentQueue<(Money Spent, Money Reserved)>();
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                samples.Enqueue(await ProgramAsync(admin, program));
            }
        });

        var answers = await Task.WhenAll(Enumerable.Range(0, Requests).Select(_ => Task.Run(async () =>
        {
            using var response = await client.PostJsonAsync("v1/completions", Body);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return (JobId: (await response.ReadJsonAsync())["id"]!.GetValue<string>()["cmpl-".Length..], Refusal: (string?)null);
            }

            var problem = await response.AssertProblemAsync(HttpStatusCode.TooManyRequests, "insufficient_quota");
            return (JobId: (string?)null, Refusal: problem["title"]!.GetValue<string>());
        })));

        // Settled: the tenant holds nothing, and the program has been told every subsidy and holds nothing either.
        var deadline = DateTime.UtcNow + s_bound;
        JsonObject usage;
        while ((usage = await (await client.GetAsync("v1/usage")).ReadJsonAsync())["open_jobs"]!.GetValue<int>() > 0
            || usage["reserved"]!.GetValue<long>() > 0 || (await ProgramAsync(admin, program)).Reserved > Money.Zero)
        {
            Assert.True(DateTime.UtcNow < deadline, "The tenant or the program still holds a reservation.");
            await Task.Delay(50);
        }

        await stop.CancelAsync();
        await watcher;
        var (spent, reserved) = await ProgramAsync(admin, program);
        samples.Enqueue((spent, reserved));
        Assert.All(samples, s => Assert.True(s.Spent + s.Reserved <= budget, $"The program held {s.Spent} + {s.Reserved} of {budget}."));

        // Both limits bound: some requests were refused by the cap (the only refusal a full_price program allows), and
        // the program ran out, paying some admitted requests less than their share.
        var admitted = answers.Where(a => a.JobId is not null).Select(a => a.JobId!).ToList();
        var refusals = answers.Where(a => a.Refusal is not null).ToList();
        Assert.Equal(Requests, admitted.Count + refusals.Count);
        Assert.NotEmpty(refusals);
        Assert.All(refusals, r => Assert.Equal("Spend cap reached", r.Refusal));
        Assert.InRange(admitted.Count, 79, Requests - 1);
        admitted.Add(first);

        var ledger = await admin.LedgerAsync(tenant);
        Assert.All(ledger, line => Assert.True(
            line["spend_charged_after"]!.GetValue<long>() + line["spend_reserved_after"]!.GetValue<long>() <= cap.Micros,
            $"Over the cap of {cap.Micros} micros: {line.ToJsonString()}"));

        // Every admitted request has exactly one charge line; a refused one has none (and no reservation).
        var charges = ledger.Where(l => l["kind"]!.GetValue<string>() == "charge").ToList();
        Assert.Equal(admitted.Order(StringComparer.Ordinal), charges.Select(c => c["job_id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Equal(admitted.ToHashSet(), ledger.Select(l => l["job_id"]!.GetValue<string>()).Where(j => j.Length > 0).ToHashSet());

        // Each charge's lines add up exactly, its subsidy is at most the share, and the tenant's spend is the lines' sum.
        var paid = new List<long>();
        foreach (var charge in charges)
        {
            var lines = charge["priced"]!["lines"]!.AsArray().Select(l => l!.AsObject()).ToList();
            foreach (var line in lines)
            {
                var (list, discount, share, own) = (M(line["list"]), M(line["discount"]), M(line["subsidy"]), M(line["tenant"]));
                Assert.Equal(list, discount + share + own);
                Assert.True(share <= Pricing.Share(list - discount, ShareBps), line.ToJsonString());
            }

            Assert.Equal(lines.Sum(l => M(l["tenant"]).Micros), charge["spend_micros"]!.GetValue<long>());
            paid.Add(lines.Sum(l => M(l["subsidy"]).Micros));
        }

        Assert.Equal((charges.Sum(c => c["spend_micros"]!.GetValue<long>()), 0L), (ledger[^1]["spend_charged_after"]!.GetValue<long>(), ledger[^1]["spend_reserved_after"]!.GetValue<long>()));
        Assert.Equal(paid.Sum(), spent.Micros);
        Assert.Equal(Money.Zero, reserved);

        // The program paid the first request in full (exactly `subsidy`: every request makes the same tokens), and ran
        // out: its budget cannot pay 80 requests their share. (Reservations are for the most possible subsidy, and those
        // of requests the cap then refused are given back, so the final spent may stay below the budget.)
        Console.WriteLine($"Concurrent spend: {admitted.Count} admitted ({paid.Count(p => p == subsidy.Micros)} subsidised in full), "
            + $"{refusals.Count} refused; program spent {spent} of {budget}.");
        Assert.Contains(paid, p => p == subsidy.Micros);
        Assert.Contains(paid, p => p < subsidy.Micros);
    }

    private static Dictionary<string, object> Budget(Money? cap, string? program)
    {
        var budget = new Dictionary<string, object> { ["max_concurrent_jobs"] = Requests, ["tokens_per_minute"] = 10_000_000, ["requests_per_minute"] = 10_000 };
        if (cap is { } limit)
        {
            budget["spend_cap"] = limit.ToString();
        }

        if (program is not null)
        {
            budget["subsidy_program"] = program;
        }

        return budget;
    }

    private static Money M(JsonNode? amount) =>
        Money.TryParse(amount!.GetValue<string>(), out var money) ? money : throw new FormatException(amount.ToJsonString());

    private static async Task<(Money Spent, Money Reserved)> ProgramAsync(HttpClient admin, string program)
    {
        var shown = await (await admin.GetAsync($"admin/subsidies/{program}")).ReadJsonAsync();
        return (M(shown["spent"]), M(shown["reserved"]));
    }

}
