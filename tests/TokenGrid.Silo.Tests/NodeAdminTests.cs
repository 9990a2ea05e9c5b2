using System.Net;
using System.Text.Json.Nodes;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// Node administration over HTTP on a server with two CPU nodes and labels: one node, drain and resume, the supply per
/// label, and 404 problems for nodes the registry does not know.
/// </summary>
public sealed class NodeAdminTests(NodeAdminTests.TwoNodeServer fixture) : IClassFixture<NodeAdminTests.TwoNodeServer>
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task Draining_a_busy_node_is_accepted_refuses_new_work_and_ends_drained_then_resume_restores_it()
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var path = $"admin/nodes/{Server.SiloName}/cpu1";
        var node = Server.Grains.GetGrain<INodeGrain>($"{Server.SiloName}/cpu1");
        try
        {
            await using (var running = node.GenerateAsync(Spec(450)).GetAsyncEnumerator())
            {
                Assert.True(await running.MoveNextAsync());

                var accepted = await (await admin.PostAsync($"{path}/drain", null)).ReadJsonAsync(HttpStatusCode.Accepted);
                var refused = Assert.Single(await ReadAllAsync(node.GenerateAsync(Spec(4))));

                Assert.Equal($"{Server.SiloName}/cpu1", accepted["node_id"]!.GetValue<string>());
                Assert.True(accepted["draining"]!.GetValue<bool>());
                Assert.False(accepted["drained"]!.GetValue<bool>());
                Assert.True(refused.Final!.Refused);
                Assert.Contains("is draining", refused.Final.Error);
            }

            // The running sequence has been abandoned; once it has left the engine the node is drained.
            var drained = await PollAsync(admin, path, n => n["drained"]!.GetValue<bool>());
            Assert.True(drained["draining"]!.GetValue<bool>());
            var listed = (await (await admin.GetAsync("admin/nodes")).ReadJsonAsync())["data"]!.AsArray();
            Assert.True(listed.Single(n => n!["node_id"]!.GetValue<string>() == $"{Server.SiloName}/cpu1")!["draining"]!.GetValue<bool>());

            var again = await (await admin.PostAsync($"{path}/drain", null)).ReadJsonAsync(HttpStatusCode.OK);
            Assert.True(again["drained"]!.GetValue<bool>());
        }
        finally
        {
            var resumed = await (await admin.PostAsync($"{path}/resume", null)).ReadJsonAsync(HttpStatusCode.OK);
            Assert.False(resumed["draining"]!.GetValue<bool>());
            Assert.False(resumed["drained"]!.GetValue<bool>());
        }

        var final = (await ReadAllAsync(node.GenerateAsync(Spec(4))))[^1].Final!;
        Assert.False(final.Refused, final.Error);
    }

    [Fact]
    public async Task While_every_node_drains_a_completion_is_503_no_eligible_node_at_once_and_after_a_resume_it_runs()
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var (_, key) = await Server.CreateTenantAsync();
        using var tenant = Server.Client(key);
        string[] nodes = [$"admin/nodes/{Server.SiloName}/cpu0", $"admin/nodes/{Server.SiloName}/cpu1"];
        try
        {
            foreach (var node in nodes)
            {
                Assert.True((await admin.PostAsync($"{node}/drain", null)).IsSuccessStatusCode);
            }

            // Refused at once, with a wait to come back after, rather than queued to wait out the job's timeout.
            var refused = await tenant.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hi", max_tokens = 2 });
            var problem = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "no_eligible_node");
            Assert.Contains("draining", problem["detail"]!.GetValue<string>());
            Assert.NotNull(refused.Headers.RetryAfter);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await admin.PostAsync($"{node}/resume", null);
            }
        }

        var completion = await (await tenant.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hi", max_tokens = 2, ignore_eos = true })).ReadJsonAsync();
        Assert.Equal(2, completion["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Unknown_or_malformed_nodes_are_404_problems_and_the_admin_key_is_required()
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        using var tenant = Server.Client(TokenGridServer.DemoKey);

        await (await admin.PostAsync("admin/nodes/no-such-silo/cpu0/drain", null)).AssertProblemAsync(HttpStatusCode.NotFound, "node_not_found");
        await (await admin.PostAsync($"admin/nodes/{Server.SiloName}/cpu9/resume", null)).AssertProblemAsync(HttpStatusCode.NotFound, "node_not_found");
        await (await admin.GetAsync($"admin/nodes/{Server.SiloName}/tpu0")).AssertProblemAsync(HttpStatusCode.NotFound, "node_not_found");
        await (await tenant.PostAsync($"admin/nodes/{Server.SiloName}/cpu0/drain", null)).AssertProblemAsync(HttpStatusCode.Unauthorized);
        var node = await (await admin.GetAsync($"admin/nodes/{Server.SiloName}/cpu0")).ReadJsonAsync();
        Assert.False(node["draining"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Nodes_report_their_labels_and_the_supply_per_label_adds_up()
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        await Server.Grains.GetGrain<INodeGrain>($"{Server.SiloName}/cpu0").StartAsync();
        await Server.Grains.GetGrain<INodeGrain>($"{Server.SiloName}/cpu1").StartAsync();

        var cpu0 = await (await admin.GetAsync($"admin/nodes/{Server.SiloName}/cpu0")).ReadJsonAsync();
        var cpu1 = await (await admin.GetAsync($"admin/nodes/{Server.SiloName}/cpu1")).ReadJsonAsync();
        var supply = (await (await admin.GetAsync("admin/capacity/labels")).ReadJsonAsync())["data"]!.AsArray().Select(r => r!.AsObject()).ToList();

        Assert.Equal("west", cpu0["labels"]!["region"]!.GetValue<string>());
        Assert.Equal("shared", cpu0["labels"]!["pool"]!.GetValue<string>());
        Assert.Equal("batch", cpu1["labels"]!["pool"]!.GetValue<string>());
        Assert.Equal(["demo"], cpu0["loadable_models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(["pool=batch", "pool=shared", "region=west"], supply.Select(r => r["label"]!.GetValue<string>()));
        int Nodes(string label) => supply.Single(r => r["label"]!.GetValue<string>() == label)["nodes"]!.GetValue<int>();
        Assert.Equal(2, Nodes("region=west"));
        Assert.Equal(Nodes("region=west"), Nodes("pool=batch") + Nodes("pool=shared"));
    }

    private static GenerationSpec Spec(int maxTokens) =>
        new($"admin-{Guid.NewGuid():N}", TokenGridServer.Model, [1000, 2000, 3000], maxTokens, new JobSampling(0f), []);

    private static async Task<List<GenerationChunk>> ReadAllAsync(IAsyncEnumerable<GenerationChunk> chunks)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var list = new List<GenerationChunk>();
        await foreach (var chunk in chunks.WithCancellation(deadline.Token))
        {
            list.Add(chunk);
        }

        return list;
    }

    /// <summary>Polls a node over HTTP within a deadline until <paramref name="condition"/> holds.</summary>
    private static async Task<JsonObject> PollAsync(HttpClient admin, string path, Func<JsonObject, bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var node = await (await admin.GetAsync(path)).ReadJsonAsync();
            if (condition(node))
            {
                return node;
            }

            Assert.False(deadline.IsCancellationRequested, $"Timed out polling {path}: {node}");
            await Task.Delay(5, CancellationToken.None);
        }
    }

    /// <summary>A server of its own: nodes <c>cpu0</c> (<c>pool=shared</c>) and <c>cpu1</c> (<c>pool=batch</c>), both <c>region=west</c>.</summary>
    public sealed class TwoNodeServer() : SettingsServerFixture(new Dictionary<string, string>
    {
        ["TokenGrid:Nodes:Devices:0"] = "cpu0",
        ["TokenGrid:Nodes:Devices:1"] = "cpu1",
        ["TokenGrid:Nodes:IntraOpThreads"] = "1",
        ["TokenGrid:Nodes:Labels:region"] = "west",
        ["TokenGrid:Nodes:Labels:pool"] = "shared",
        ["TokenGrid:Nodes:DeviceLabels:cpu1:pool"] = "batch",
    });
}
