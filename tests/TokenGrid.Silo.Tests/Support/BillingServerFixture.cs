using Microsoft.Extensions.DependencyInjection;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Database;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>
/// A server whose rate card prices the demo model from the start: prompt 1.00 and completion 2.00 USD per million
/// tokens, completion 1.50 on nodes in region "north", where this silo's node is. A card's versions only move forward, and
/// the shared servers' cards hold versions for later dates, so the billing suites get a server of their own.
/// </summary>
public abstract class BillingServerFixtureBase : IAsyncLifetime
{
    /// <summary>The region label of the server's node.</summary>
    public const string NodeRegion = "north";

    /// <summary>The read-only auditor's key.</summary>
    public const string AuditorKey = "tg-auditor-billing-0123456789abcdef";

    private TokenGridServer? _server;

    public TokenGridServer Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <summary>The server's log entries at Warning and above.</summary>
    public ErrorLogCapture Log { get; } = new(Microsoft.Extensions.Logging.LogLevel.Warning);

    /// <summary>The rate card version in force.</summary>
    public int PriceVersion { get; private set; }

    public virtual async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string>(await SettingsAsync()) { ["TokenGrid:Nodes:Labels:region"] = NodeRegion,
            ["TokenGrid:Auditor:ApiKey"] = AuditorKey,

            // The webhook tests' receiver listens on loopback, over plain HTTP.
            ["TokenGrid:Billing:Webhooks:AllowHttp"] = "true",
            ["TokenGrid:Billing:Webhooks:AllowPrivateNetworks"] = "true",
        };
        _server = await TokenGridServer.StartAsync(settings, services: services => services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(Log));
        using var admin = _server.Client(TokenGridServer.AdminKey);
        var published = await (await admin.PutAsJsonAsync("admin/prices", new
        {
            currency = "USD",
            prices = new object[]
            {
                new { model = TokenGridServer.Model, direction = "prompt", per_million = "1.00" },
                new { model = TokenGridServer.Model, direction = "completion", per_million = "2.00" },
                new { model = TokenGridServer.Model, direction = "completion", region = NodeRegion, per_million = "1.50" },
            },
        })).ReadJsonAsync();
        PriceVersion = published["version"]!.GetValue<int>();

        // Left out, effective_from is the first moment every silo's copy of the card will show it (within a lease);
        // wait for that moment once, so the suites start with the card in force.
        var from = published["effective_from"]!.GetValue<DateTimeOffset>();
        if (from > DateTimeOffset.UtcNow)
        {
            await Task.Delay(from - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(50));
        }

        var listed = (await (await admin.GetAsync("admin/prices")).ReadJsonAsync())["data"]!.AsArray();
        Assert.True(listed[^1]!["in_force"]!.GetValue<bool>());
    }

    public virtual async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    protected virtual Task<IReadOnlyDictionary<string, string>> SettingsAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>());
}

/// <summary>The billing server on the local profile.</summary>
public sealed class BillingServerFixture : BillingServerFixtureBase;

/// <summary>The billing server on the postgres profile, in a fresh database of its own.</summary>
public sealed class PostgresBillingServerFixture : BillingServerFixtureBase
{
    private PostgresTestDatabase? _database;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    protected override async Task<IReadOnlyDictionary<string, string>> SettingsAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync(migrate: false);

        // Pools sized to the shared test server (max_connections 100): the concurrent spend suite sends 200 requests at
        // once, and unbounded pools (one per connection string and data source) would ask for more connections than it has.
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(_database.ConnectionString) { MaxPoolSize = 20 }.ConnectionString;
        return PostgresSilo.Settings(connection, $"pg-billing-{Guid.NewGuid():N}");
    }
}

[CollectionDefinition(Name)]
public sealed class BillingServerCollection : ICollectionFixture<BillingServerFixture>
{
    public const string Name = "BillingServer";
}

[CollectionDefinition(Name)]
public sealed class PostgresBillingServerCollection : ICollectionFixture<PostgresBillingServerFixture>
{
    public const string Name = "PostgresBillingServer";
}
