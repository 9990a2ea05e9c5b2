using TokenGrid.Silo.Tests.Database;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Cluster;

/// <summary>
/// Silos with different grain directories (<c>TokenGrid:Cluster:GrainDirectory</c>) must not serve one cluster, and
/// Orleans does not notice: a rolling update that changed the setting would run both. The silo that joins a cluster
/// whose older silo runs the other directory stops with exit code 1, naming both; the older one serves on.
/// </summary>
[Collection(SiloClusterCollection.Name)]
public sealed class GrainDirectoryMismatchTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_silo_joining_with_another_grain_directory_stops_and_the_older_silo_serves_on()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        var settings = new Dictionary<string, string>
        {
            ["profile"] = "postgres",
            ["TokenGrid:Database:ConnectionString"] = database.ConnectionString,
            ["TokenGrid:Database:MigrateOnStartup"] = "false",
            ["TokenGrid:Cluster:ClusterId"] = "directory-" + Guid.NewGuid().ToString("N")[..12],
            ["TokenGrid:Cluster:AdvertisedAddress"] = "127.0.0.1",
            ["TokenGrid:Admin:ApiKey"] = SiloClusterFixture.AdminKey,
            ["TokenGrid:Demo:ApiKey"] = SiloClusterFixture.DemoKey,
            ["TokenGrid:Models:DemoSpec:Layers"] = "2",
            ["TokenGrid:Models:DemoSpec:HiddenSize"] = "64",
            ["TokenGrid:Models:DemoSpec:ContextLength"] = "1024",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:TokenGrid"] = "Information",
        };

        await using var older = SiloProcess.Start("older", settings);
        await older.WaitReadyAsync(s_bound);
        var seen = older.NextLineAsync(line => line.Contains("joined with grain directory Distributed", StringComparison.Ordinal));

        await using var newer = SiloProcess.Start("newer", new Dictionary<string, string>(settings) { ["TokenGrid:Cluster:GrainDirectory"] = "Distributed" });
        var said = newer.NextLineAsync(line => line.Contains("This silo runs grain directory Distributed", StringComparison.Ordinal));
        var exit = await newer.WaitForExitAsync(s_bound);
        Assert.True(exit == 1, $"The silo with the other directory {(exit is null ? "still runs" : $"exited with {exit}")}:\n{newer.Log}");
        Assert.True(said.IsCompleted, $"It did not say why:\n{newer.Log}");
        Assert.Contains("older, runs Local", await said);
        await seen.WaitAsync(s_bound);

        // The older silo serves on. The grains the newer one held for those seconds (a model's dispatcher among them) are
        // placed again, so a request may meet a 503 until its node reports to the new dispatcher, as after any silo's
        // failure; it carries Retry-After, which clients follow.
        Assert.False(older.HasExited, older.Log);
        using var client = older.Client(SiloClusterFixture.DemoKey);
        var deadline = DateTime.UtcNow + s_bound;
        while (true)
        {
            using var response = await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Still here", max_tokens = 2 });
            if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
            {
                Assert.Equal(2, (await response.ReadJsonAsync())["usage"]!["completion_tokens"]!.GetValue<int>());
                break;
            }

            ClusterClient.AssertRetryAfter(response, await response.AssertProblemAsync(System.Net.HttpStatusCode.ServiceUnavailable));
            Assert.True(DateTime.UtcNow < deadline, $"The older silo did not serve again:\n{older.Log}");
            await Task.Delay(response.Headers.RetryAfter!.Delta!.Value);
        }
    }
}
