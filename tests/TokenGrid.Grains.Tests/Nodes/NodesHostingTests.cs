using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Nodes;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Tests.Nodes;

public sealed class NodesHostingTests
{
    [Fact]
    public void Without_configuration_a_silo_serves_the_demo_model_on_cpu0()
    {
        using var host = Build([]);

        var nodes = host.Services.GetRequiredService<IOptions<NodeOptions>>().Value;
        var models = host.Services.GetRequiredService<IOptions<ModelCatalogOptions>>().Value;

        Assert.Equal(["cpu0"], nodes.Devices);
        Assert.Equal(ExecutionProviderPreference.Auto, nodes.Provider);
        Assert.Equal(TimeSpan.FromSeconds(6), nodes.ReportLifetime);
        var entry = Assert.Single(models.Entries);
        Assert.Equal("demo", entry.Name);
        Assert.True(entry.IsDemo);
    }

    [Fact]
    public void Configured_devices_and_models_replace_the_defaults()
    {
        using var host = Build(new()
        {
            ["TokenGrid:Nodes:Devices:0"] = "gpu1",
            ["TokenGrid:Nodes:Devices:1"] = "cpu0",
            ["TokenGrid:Nodes:Provider"] = "cuda",
            ["TokenGrid:Nodes:Engine:MaxBatchSize"] = "8",
            ["TokenGrid:Models:Entries:0:Name"] = "phi",
            ["TokenGrid:Models:Entries:0:Directory"] = "/models/phi",
        });

        var nodes = host.Services.GetRequiredService<IOptions<NodeOptions>>().Value;
        var models = host.Services.GetRequiredService<IOptions<ModelCatalogOptions>>().Value;

        Assert.Equal(["gpu1", "cpu0"], nodes.Devices);
        Assert.Equal(ExecutionProviderPreference.Cuda, nodes.Provider);
        Assert.Equal(8, nodes.Engine.MaxBatchSize);
        var entry = Assert.Single(models.Entries);
        Assert.False(entry.IsDemo);
    }

    [Fact]
    public void Labels_models_budget_and_per_device_settings_bind_from_configuration()
    {
        using var host = Build(new()
        {
            ["TokenGrid:Nodes:Devices:0"] = "cpu0",
            ["TokenGrid:Nodes:Devices:1"] = "cpu1",
            ["TokenGrid:Nodes:IntraOpThreads"] = "1",
            ["TokenGrid:Nodes:DeviceIntraOpThreads:cpu1"] = "2",
            ["TokenGrid:Nodes:Labels:region"] = "west",
            ["TokenGrid:Nodes:Labels:pool"] = "shared",
            ["TokenGrid:Nodes:DeviceLabels:cpu1:pool"] = "batch",
            ["TokenGrid:Nodes:Models:0"] = "demo",
            ["TokenGrid:Nodes:MemoryBudgetBytes"] = "1000000",
            ["TokenGrid:Nodes:Preload"] = "false",
            ["TokenGrid:Nodes:CpuModelThreadNice"] = "3",
        });

        var nodes = host.Services.GetRequiredService<IOptions<NodeOptions>>().Value;

        Assert.Equal((1, 2), (nodes.IntraOpThreadsOf("cpu0"), nodes.IntraOpThreadsOf("cpu1")));
        Assert.Equal(new Dictionary<string, string> { ["region"] = "west", ["pool"] = "shared" }, nodes.LabelsOf("cpu0"));
        Assert.Equal(new Dictionary<string, string> { ["region"] = "west", ["pool"] = "batch" }, nodes.LabelsOf("cpu1"));
        Assert.Equal(["demo"], nodes.Models);
        Assert.Equal(1_000_000, nodes.MemoryBudgetBytes);
        Assert.False(nodes.Preload);
        Assert.Equal(3, nodes.CpuModelThreadNice);
    }

    [Fact]
    public void By_default_nodes_serve_every_model_without_a_configured_budget_and_preload()
    {
        using var host = Build([]);

        var nodes = host.Services.GetRequiredService<IOptions<NodeOptions>>().Value;

        Assert.Empty(nodes.Models);
        Assert.Null(nodes.MemoryBudgetBytes);
        Assert.True(nodes.Preload);
        Assert.Empty(nodes.LabelsOf("cpu0"));
        Assert.Equal(10, nodes.CpuModelThreadNice);
    }

    [Theory]
    [InlineData("TokenGrid:Nodes:Models:0", "no-such-model", "model 'no-such-model' is not in the catalog")]
    [InlineData("TokenGrid:Nodes:MemoryBudgetBytes", "-1", "memory budget")]
    [InlineData("TokenGrid:Nodes:DeviceLabels:cpu7:pool", "batch", "'cpu7', which is not one of the devices")]
    [InlineData("TokenGrid:Nodes:DeviceIntraOpThreads:cpu0", "-2", "intra-op threads")]
    [InlineData("TokenGrid:Nodes:Labels:region", " ", "needs a key without '=' and a value")]
    [InlineData("TokenGrid:Nodes:Devices:0", "tpu0", "not of the form cpuN or gpuN")]
    [InlineData("TokenGrid:Nodes:ReportPeriod", "00:00:00", "report period")]
    [InlineData("TokenGrid:Nodes:Engine:MaxBatchSize", "0", "engine")]
    [InlineData("TokenGrid:Nodes:CpuModelThreadNice", "20", "nice value must be between 0 and 19")]
    [InlineData("TokenGrid:Nodes:CpuModelThreadNice", "-1", "nice value must be between 0 and 19")]
    public void Invalid_node_options_are_refused(string key, string value, string message)
    {
        using var host = Build(new() { [key] = value });

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<NodeOptions>>().Value);

        Assert.Contains(message, error.Message);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddTokenGridNodes());
        return builder.Build();
    }
}
