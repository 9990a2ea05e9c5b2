using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Capacity;

/// <summary>
/// A server of its own (so its metrics hold only this class's workload) with a planner key, and tenants re-read by the
/// capacity view every second instead of every ten, so tests see a workload's usage without waiting.
/// </summary>
public sealed class PlannerServerFixture : IAsyncLifetime
{
    public const string PlannerKey = "tg-planner-test-0123456789abcdef";

    public const string AuditorKey = "tg-auditor-test-0123456789abcdef";

    private TokenGridServer? _server;

    public TokenGridServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _server = await TokenGridServer.StartAsync(new Dictionary<string, string>
    {
        ["TokenGrid:Planner:ApiKey"] = PlannerKey,
        ["TokenGrid:Auditor:ApiKey"] = AuditorKey,
        ["TokenGrid:Capacity:TenantRefreshPeriod"] = "00:00:01",
        ["TokenGrid:Capacity:SamplePeriod"] = "00:00:01",
    });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
