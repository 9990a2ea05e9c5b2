using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Scheduling;

namespace TokenGrid.Grains.Tests.Nodes;

/// <summary>The settings prefix-aware placement runs on: on by default, and what turns each part off.</summary>
public sealed class PrefixDigestOptionsTests
{
    [Fact]
    public void Placement_is_prefix_aware_by_default_with_the_engines_block_size_and_a_bounded_digest()
    {
        var nodes = new NodeOptions();
        var scheduling = new SchedulingOptions();

        Assert.Equal(4096, nodes.PrefixDigestBlocks);
        Assert.Equal(nodes.Engine.PrefixBlockTokens, nodes.PrefixBlockTokens);
        Assert.Equal(16, nodes.PrefixBlockTokens);
        Assert.Equal(1, scheduling.PrefixAffinityWeight);
        Assert.Equal(0, scheduling.PrefillSecondsPerToken);
        Assert.Null(scheduling.Validate());
    }

    [Fact]
    public void Jobs_cut_no_blocks_when_the_engines_cache_is_off()
    {
        var nodes = new NodeOptions();
        nodes.Engine.PrefixBlockTokens = 32;
        Assert.Equal(32, nodes.PrefixBlockTokens);

        nodes.Engine.PrefixCacheTokens = 0;
        Assert.Equal(0, nodes.PrefixBlockTokens);
    }
}
