using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Metrics;

/// <summary>
/// One server for the metrics tests, with tracing on and budget series for the listed tenant <see cref="WatchedTenant"/>
/// and the top <see cref="TopN"/> others.
/// </summary>
public sealed class MetricsFixture : IAsyncLifetime
{
    public const int TopN = 5;
    public const string WatchedTenant = "watched-tenant";

    private TokenGridServer? _server;

    public TokenGridServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _server = await TokenGridServer.StartAsync(new Dictionary<string, string>
    {
        ["TokenGrid:Telemetry:Tracing"] = "true",
        ["TokenGrid:Telemetry:TenantSeries:TopN"] = TopN.ToString(),
        ["TokenGrid:Telemetry:TenantSeries:Tenants:0"] = WatchedTenant,
    });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class MetricsCollection : ICollectionFixture<MetricsFixture>
{
    public const string Name = "Metrics";
}
