using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Tests.Capacity;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Dashboard;

/// <summary>
/// What the Orleans Dashboard takes from a planner's request is checked before it acts: a silo view names a live silo
/// of this cluster (another address is a 404, and nothing connects to it), and the grain state view a grain type the
/// silo hosts with a key of its kind (else a 400 naming the parameter).
/// </summary>
public sealed class OrleansDashboardTests(PlannerServerFixture fixture) : IClassFixture<PlannerServerFixture>
{
    private static readonly string[] SiloViews = ["SiloStats", "SiloCounters", "SiloProperties", "SiloMetadata", "HistoricalStats"];

    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task A_silo_view_of_an_address_outside_the_cluster_is_404_and_connects_nowhere()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var silo = Server.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var strangers = new[]
        {
            $"127.0.0.1:{port}@0",
            $"127.0.0.1:{port}@{silo.Generation}",
            SiloAddress.New(silo.Endpoint, silo.Generation + 1).ToParsableString(),
        };

        using var planner = Server.Client(PlannerServerFixture.PlannerKey);
        foreach (var view in SiloViews)
        {
            foreach (var address in strangers)
            {
                var problem = await (await planner.GetAsync($"dashboard/orleans/{view}/{address}")).AssertProblemAsync(HttpStatusCode.NotFound, "silo_not_found");
                Assert.Contains(address, problem["detail"]!.GetValue<string>());
            }

            var good = await planner.GetAsync($"dashboard/orleans/{view}/{silo.ToParsableString()}");
            Assert.True(good.StatusCode == HttpStatusCode.OK, $"{view}: {(int)good.StatusCode} {await good.Content.ReadAsStringAsync()}");
        }

        Assert.False(listener.Pending(), "The silo connected to an address outside its cluster.");
    }

    [Theory]
    [InlineData("", "grainType")]
    [InlineData("?grainId=demo", "grainType")]
    [InlineData("?grainType=No.Such.Grain&grainId=demo", "grainType")]
    [InlineData("?grainType={tenant}", "grainId")]
    [InlineData("?grainType={tenant}&grainId=", "grainId")]
    [InlineData("?grainType={tenant}&grainId=a&grainId=b", "grainId")]
    [InlineData("?grainType={registry}&grainId=abc", "grainId")]
    [InlineData("?grainType={registry}&grainType={registry}&grainId=0", "grainType")]
    public async Task A_grain_state_request_without_a_hosted_grain_type_and_a_key_of_its_kind_is_400_naming_the_parameter(string query, string param)
    {
        using var planner = Server.Client(PlannerServerFixture.PlannerKey);
        var problem = await (await planner.GetAsync("dashboard/orleans/GrainState" + Fill(query))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("?grainType={tenant}&grainId=demo")]
    [InlineData("?grainType={registry}&grainId=0")]
    public async Task A_grain_state_request_for_a_hosted_grain_is_answered(string query)
    {
        using var planner = Server.Client(PlannerServerFixture.PlannerKey);
        var answer = await planner.GetAsync("dashboard/orleans/GrainState" + Fill(query));
        Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
    }

    /// <summary>
    /// The grain state view calls every getter of a grain's interfaces that returns one of its persistent state types, or
    /// is named <c>GetState</c>, and shows the result to the planner. No grain of ours has one: tenants' keys, budgets and
    /// jobs stay out of the planners' view. A getter added to an interface later fails here.
    /// </summary>
    [Fact]
    public async Task The_grain_state_view_shows_a_planner_nothing_of_any_grain_of_ours()
    {
        var grains = typeof(TenantGrain).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IGrain).IsAssignableFrom(t) && !t.IsGenericTypeDefinition)
            .ToList();
        Assert.True(grains.Count >= 10, $"found only {grains.Count} grain classes");
        using var planner = Server.Client(PlannerServerFixture.PlannerKey);
        foreach (var grain in grains)
        {
            var answer = await planner.GetAsync($"dashboard/orleans/GrainState?grainType={Uri.EscapeDataString(grain.FullName!)}&grainId={KeyOf(grain)}");
            var body = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{grain.Name}: {(int)answer.StatusCode} {body}");
            Assert.True(JsonNode.Parse(JsonNode.Parse(body)!.GetValue<string>()) is JsonObject { Count: 0 }, $"{grain.Name} shows its state: {body}");
        }
    }

    private static string KeyOf(Type grain) => grain switch
    {
        _ when typeof(IGrainWithGuidCompoundKey).IsAssignableFrom(grain) => $"{Guid.Empty},x",
        _ when typeof(IGrainWithIntegerCompoundKey).IsAssignableFrom(grain) => "0,x",
        _ when typeof(IGrainWithIntegerKey).IsAssignableFrom(grain) => "0",
        _ when typeof(IGrainWithGuidKey).IsAssignableFrom(grain) => Guid.Empty.ToString(),
        _ => "demo",
    };

    private static string Fill(string query) => query
        .Replace("{tenant}", typeof(TenantGrain).FullName, StringComparison.Ordinal)
        .Replace("{registry}", typeof(NodeRegistryGrain).FullName, StringComparison.Ordinal);
}
