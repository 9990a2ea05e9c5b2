using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Capacity;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Scheduling;

namespace TokenGrid.Grains.Tests;

/// <summary>The grains' options are validated the one way (<see cref="IValidatedOptions"/>), with the section named.</summary>
public sealed class ValidatedOptionsTests
{
    [Theory]
    [InlineData("TokenGrid:Scheduling:MaxQueuedPerModel", "0", "TokenGrid:Scheduling: max queued per model must be at least 1.")]
    [InlineData("TokenGrid:Scheduling:PrefixAffinityWeight", "-1", "TokenGrid:Scheduling: the prefix affinity weight must be between 0 (off) and 1000.")]
    [InlineData("TokenGrid:Scheduling:PrefillSecondsPerToken", "2", "TokenGrid:Scheduling: prefill seconds per token must be between 0 (measured) and 1.")]
    [InlineData("TokenGrid:Nodes:PrefixDigestBlocks", "-1", "TokenGrid:Nodes: prefix digest blocks must not be negative (0: none).")]
    [InlineData("TokenGrid:Capacity:DefaultTop", "0", "TokenGrid:Capacity: top counts must be positive and the default at most the maximum.")]
    [InlineData("TokenGrid:Models:Entries:0:Name", " ", "TokenGrid:Models: every model needs a name.")]
    public void Invalid_settings_are_refused_with_their_section(string key, string value, string message)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value });
        builder.Services.AddTokenGridCapacity();
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddTokenGridScheduling().AddTokenGridNodes());
        using var host = builder.Build();

        var error = Assert.Throws<OptionsValidationException>(() =>
        {
            _ = host.Services.GetRequiredService<IOptions<SchedulingOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<CapacityOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<ModelCatalogOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<NodeOptions>>().Value;
        });
        Assert.Equal(message, Assert.Single(error.Failures));
    }

    [Fact]
    public async Task Invalid_settings_stop_the_host_as_it_starts()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["TokenGrid:Capacity:SamplePeriod"] = "00:00:00" });
        builder.Services.AddValidatedOptions<CapacityOptions>();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("TokenGrid:Capacity: the sample period must be positive.", error.Message);
    }

    [Fact]
    public void Registering_twice_validates_once()
    {
        var services = new ServiceCollection();
        services.AddValidatedOptions<SchedulingOptions>();
        services.AddValidatedOptions<SchedulingOptions>();

        Assert.Single(services, s => s.ServiceType == typeof(IValidateOptions<SchedulingOptions>));
    }
}
