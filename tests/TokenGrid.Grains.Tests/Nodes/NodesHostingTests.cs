using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Models;
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

    [Theory]
    [InlineData("TokenGrid:Nodes:Devices:0", "tpu0", "not of the form cpuN or gpuN")]
    [InlineData("TokenGrid:Nodes:ReportPeriod", "00:00:00", "report period")]
    [InlineData("TokenGrid:Nodes:Engine:MaxBatchSize", "0", "engine")]
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
