using System.Net;
using Microsoft.Extensions.Time.Testing;
using TokenGrid.Silo.Tests.Database;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>Its own server whose clock (the app's <see cref="TimeProvider"/>) the tests move.</summary>
public class FakeClockServerFixture : IAsyncLifetime
{
    private TokenGridServer? _server;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero));

    public TokenGridServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public virtual async Task InitializeAsync() => _server = await StartAsync(null);

    public virtual async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>Starts the server with <paramref name="settings"/> and this fixture's clock.</summary>
    protected async Task<TokenGridServer> StartAsync(IReadOnlyDictionary<string, string>? settings) =>
        _server = await TokenGridServer.StartAsync(settings, Time);
}

/// <summary>The same on the postgres profile, in a fresh database of its own: budgets are enforced there in production.</summary>
public sealed class PostgresFakeClockServerFixture : FakeClockServerFixture
{
    private PostgresTestDatabase? _database;

    public override async Task InitializeAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync(migrate: false);
        await StartAsync(PostgresSilo.Settings(_database.ConnectionString, $"pg-clock-{Guid.NewGuid():N}"));
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresFakeClockServerCollection : ICollectionFixture<PostgresFakeClockServerFixture>
{
    public const string Name = "Fake clock server on PostgreSQL";
}

[CollectionDefinition(Name)]
public sealed class FakeClockServerCollection : ICollectionFixture<FakeClockServerFixture>
{
    public const string Name = "Fake clock server";
}

/// <summary>
/// OpenAI's rate-limit headers on every reply to a tenant, and 429s with <c>Retry-After</c> that lift when the clock
/// moves on.
/// </summary>
[Collection(FakeClockServerCollection.Name)]
public sealed class RateLimitTests(FakeClockServerFixture fixture) : RateLimitSuite(fixture);

[Collection(PostgresFakeClockServerCollection.Name)]
public sealed class PostgresRateLimitTests(PostgresFakeClockServerFixture fixture) : RateLimitSuite(fixture);

public abstract class RateLimitSuite(FakeClockServerFixture fixture)
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task Exhausting_requests_per_minute_gives_429_until_the_clock_refills_the_bucket()
    {
        var (_, key) = await Server.CreateTenantAsync(new { requests_per_minute = 2 });
        using var client = Server.Client(key);
        var completion = new { model = "demo", prompt = "Hi", max_tokens = 1 };

        for (var remaining = 1; remaining >= 0; remaining--)
        {
            var ok = await client.PostJsonAsync("v1/completions", completion);
            await ok.ReadJsonAsync();
            ok.AssertRateLimitHeaders();
            Assert.Equal("2", Header(ok, "x-ratelimit-limit-requests"));
            Assert.Equal(remaining.ToString(), Header(ok, "x-ratelimit-remaining-requests"));
        }

        var limited = await client.PostJsonAsync("v1/completions", completion);
        var problem = await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.Equal("requests", problem["error"]!["type"]!.GetValue<string>());
        limited.AssertRateLimitHeaders();
        Assert.Equal("0", Header(limited, "x-ratelimit-remaining-requests"));
        Assert.Equal("1m0s", Header(limited, "x-ratelimit-reset-requests"));
        Assert.Equal("30", Header(limited, "Retry-After"));
        Assert.Equal("30000", Header(limited, "retry-after-ms"));

        fixture.Time.Advance(TimeSpan.FromSeconds(29.5));
        var stillLimited = await client.PostJsonAsync("v1/completions", completion);
        await stillLimited.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.Equal("1", Header(stillLimited, "Retry-After"));
        Assert.Equal("500", Header(stillLimited, "retry-after-ms"));

        fixture.Time.Advance(TimeSpan.FromSeconds(0.5));
        await Server.RefreshNodesAsync();
        var allowed = await client.PostJsonAsync("v1/completions", completion);
        await allowed.ReadJsonAsync();
        Assert.Equal("0", Header(allowed, "x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task Token_limits_give_429_or_400_when_the_request_can_never_fit()
    {
        var (_, key) = await Server.CreateTenantAsync(new { tokens_per_minute = 60 });
        using var client = Server.Client(key);

        // All 40 tokens, whatever the draw: a first reply ended early by the end-of-text token would refund its unused
        // reservation, and the second request would fit.
        var first = await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hi", max_tokens = 40, ignore_eos = true });
        Assert.Equal(40, (await first.ReadJsonAsync())["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal("60", Header(first, "x-ratelimit-limit-tokens"));

        var limited = await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hi", max_tokens = 40 });
        var problem = await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.Equal("tokens", problem["error"]!["type"]!.GetValue<string>());
        Assert.True(int.Parse(Header(limited, "Retry-After")) >= 1);
        Assert.True(long.Parse(Header(limited, "retry-after-ms")) >= 1);

        var tooLarge = await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hi", max_tokens = 100 });
        await tooLarge.AssertProblemAsync(HttpStatusCode.BadRequest, "request_too_large");
        tooLarge.AssertRateLimitHeaders();
    }

    [Fact]
    public async Task A_request_over_the_whole_period_quota_gives_request_exceeds_quota_of_type_insufficient_quota()
    {
        var (_, key) = await Server.CreateTenantAsync(new { period_quota = 20 });
        using var client = Server.Client(key);

        var response = await client.PostJsonAsync("v1/chat/completions", new { model = "demo", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 30 });

        var problem = await response.AssertProblemAsync(HttpStatusCode.TooManyRequests, "request_exceeds_quota");
        Assert.Equal("insufficient_quota", problem["error"]!["type"]!.GetValue<string>());
        response.AssertRateLimitHeaders();
    }

    [Fact]
    public async Task Every_reply_to_a_tenant_carries_rate_limit_headers()
    {
        var (_, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        var job = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Hi", max_tokens = 1 })).ReadJsonAsync(HttpStatusCode.Accepted);
        var id = job["id"]!.GetValue<string>();

        var replies = new[]
        {
            await client.GetAsync("v1/models"),
            await client.GetAsync("v1/models/demo"),
            await client.GetAsync("v1/usage"),
            await client.GetAsync("v1/jobs"),
            await client.GetAsync($"v1/jobs/{id}"),
            await client.GetAsync($"v1/jobs/{id}/events"),
            await client.GetAsync("v1/jobs/job_missing"),
            await client.PostJsonAsync("v1/completions", new { model = "nope", prompt = "Hi" }),
            await client.PostAsync("v1/chat/completions", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json")),
        };
        foreach (var reply in replies)
        {
            reply.AssertRateLimitHeaders();
        }

        Assert.Equal("600", Header(replies[0], "x-ratelimit-limit-requests"));
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"{name} missing");
}
