using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Placement;
using Orleans.TestingHost;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Tests.Nodes;

/// <summary>
/// Grains placed with <see cref="DevicePlacement"/> (node grains) live as long as their silo, whichever other silo
/// leaves. A grain in Orleans' grain directory is deactivated when the silo holding its directory entry stops; a node so
/// deactivated lost every stream it ran, and the jobs reading them were recomputed on each scale-down and rolling
/// restart.
/// </summary>
public sealed class DevicePlacementDirectoryTests
{
    /// <summary>Probes per surviving silo: enough that some hash into the leaving silo's directory range.</summary>
    private const int ProbesPerSilo = 64;

    [Fact]
    public void Node_grains_are_not_registered_in_the_grain_directory()
    {
        Assert.False(DevicePlacement.Instance.IsUsingGrainDirectory);
    }

    [Fact]
    public async Task A_silo_leaving_does_not_deactivate_the_pinned_grains_of_the_others()
    {
        // Orleans' default grain directory, as the silos run it. InProcessTestCluster replaces it with one of its own, and
        // TestCluster opts into the experimental distributed directory unless its configurator is taken off.
        var builder = new TestClusterBuilder(3);
        // Should Orleans rename that configurator, this fails rather than testing another directory.
        Assert.Equal(1, builder.Options.SiloBuilderConfiguratorTypes.RemoveAll(t => t?.Contains("ConfigureDistributedGrainDirectory", StringComparison.Ordinal) == true));
        builder.AddSiloBuilderConfigurator<DevicePlacementConfigurator>();
        var cluster = builder.Build();
        await using var _ = cluster;
        await cluster.DeployAsync();
        var leaving = cluster.Silos[2];
        var staying = cluster.Silos.Take(2).Select(s => s.Name).ToList();

        // Probes on the silos that stay, each on the silo its id names, as node grains are.
        var ids = staying.SelectMany(s => Enumerable.Range(0, ProbesPerSilo).Select(i => NodeId.Of(s, $"probe{i}"))).ToList();
        foreach (var id in ids)
        {
            Assert.Equal(id[..id.LastIndexOf('/')], await cluster.Client.GetGrain<IPinnedProbeGrain>(id).SiloNameAsync());
        }

        await cluster.StopSiloAsync(leaving);

        // Every survivor has seen the leave: it deactivates then the grains whose directory entry the silo held.
        await cluster.WaitForLivenessToStabilizeAsync();
        foreach (var id in ids)
        {
            await cluster.Client.GetGrain<IPinnedProbeGrain>(id).SiloNameAsync();
        }

        var reactivated = ids.Where(id => PinnedProbeGrain.Activations[id] != 1).ToList();
        Assert.True(reactivated.Count == 0, $"{reactivated.Count} of {ids.Count} pinned grains were activated again: {string.Join(", ", reactivated)}");
    }
}

public sealed class DevicePlacementConfigurator : ISiloConfigurator
{
    public void Configure(ISiloBuilder siloBuilder) => siloBuilder.Services.AddPlacementDirector<DevicePlacement, DevicePlacementDirector>();
}

public interface IPinnedProbeGrain : IGrainWithStringKey
{
    Task<string> SiloNameAsync();
}

/// <summary>A grain placed as node grains are, which counts its activations (the cluster runs in this process).</summary>
[DevicePlacement]
public sealed class PinnedProbeGrain(ILocalSiloDetails silo) : Grain, IPinnedProbeGrain
{
    public static ConcurrentDictionary<string, int> Activations { get; } = new();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Activations.AddOrUpdate(this.GetPrimaryKeyString(), 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }

    public Task<string> SiloNameAsync() => Task.FromResult(silo.Name);
}
