using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orleans.Core.Internal;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Capacity;

/// <summary>
/// The capacity view reads a tenant again only when it changed: with thousands of idle tenants, a dashboard open on it
/// would otherwise call (and keep active) every tenant's grain each refresh period.
/// </summary>
public sealed class IdleTenantsCapacityTests : IAsyncLifetime
{
    private const int Tenants = 10;

    private TokenGridServer? _server;

    private TokenGridServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _server = await TokenGridServer.StartAsync(new Dictionary<string, string>
    {
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

    [Fact]
    public async Task Idle_tenants_are_not_read_again_each_refresh_and_a_changed_one_is()
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var ids = Enumerable.Range(0, Tenants).Select(i => $"idle-{i}").ToList();
        foreach (var id in ids)
        {
            await (await admin.PostAsJsonAsync("admin/tenants", new { id })).ReadJsonAsync(HttpStatusCode.Created);
        }

        // The first report reads every tenant.
        await CapacityPoll.UntilAsync(
            () => admin.GetCapacityAsync("?top=100"),
            report => Task.FromResult(ids.All(id => Listed(report, id) is not null) ? null : "not every tenant is listed yet"),
            TimeSpan.FromSeconds(30));

        // Once their grains are gone (only theirs: the capacity grain keeps what it read), later reports, a refresh
        // period apart, must not activate them again.
        foreach (var id in ids)
        {
            await Server.Grains.GetGrain<ITenantGrain>(id).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        }

        await CapacityPoll.UntilAsync(
            () => Task.FromResult(new JsonObject()),
            async _ => await ActiveAsync(ids) is { Count: > 0 } active ? $"still active: {string.Join(", ", active)}" : null,
            TimeSpan.FromSeconds(30));
        var checkedAt = DateTimeOffset.UtcNow;
        await CapacityPoll.UntilAsync(
            () => admin.GetCapacityAsync("?top=100"),
            report => Task.FromResult(report["tenants_read_at"]!.GetValue<DateTimeOffset>() > checkedAt.AddSeconds(1) ? null : "no later check yet"),
            TimeSpan.FromSeconds(30));
        Assert.Empty(await ActiveAsync(ids));

        // A tenant whose budget changed is read again.
        await (await admin.PatchAsJsonAsync($"admin/tenants/{ids[3]}", new { budget = new { period_quota = 12345 } })).ReadJsonAsync();
        await CapacityPoll.UntilAsync(
            () => admin.GetCapacityAsync("?top=100"),
            report => Task.FromResult(Listed(report, ids[3])?["quota"]!.GetValue<long>() == 12345 ? null : "the changed quota is not shown yet"),
            TimeSpan.FromSeconds(30));
    }

    private static JsonNode? Listed(JsonObject report, string id) =>
        report["top_tenants"]!.AsArray().FirstOrDefault(t => t!["tenant_id"]!.GetValue<string>() == id);

    /// <summary>The ones of <paramref name="ids"/> whose tenant grain is active (Orleans' management grain; no call to them).</summary>
    private async Task<List<string>> ActiveAsync(IReadOnlyList<string> ids)
    {
        var tenantGrains = ids.Select(id => Server.Grains.GetGrain<ITenantGrain>(id).GetGrainId()).ToHashSet();
        var activations = await Server.Grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        return [.. activations.Where(a => tenantGrains.Contains(a.GrainId)).Select(a => a.GrainId.Key.ToString()!)];
    }
}
