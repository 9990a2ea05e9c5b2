using Orleans.Runtime;
using Orleans.Runtime.Messaging;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Tests.Jobs;

public sealed class UnreachedNodeTests
{
    [Fact]
    public void A_node_whose_silo_is_gone_here_was_never_reached_whatever_came_before()
    {
        var notPlaceable = new InvalidOperationException("wrapped", new NodeNotPlaceableException("s/cpu0", "s"));

        Assert.True(UnreachedNode.Is(notPlaceable, tokensArrived: false));
        Assert.True(UnreachedNode.Is(notPlaceable, tokensArrived: true));
    }

    [Fact]
    public void A_silo_that_could_not_be_reached_before_any_token_ran_nothing_and_after_one_it_is_a_loss()
    {
        // A silo killed but not yet declared dead: the call cannot connect. Counted as a loss, the job was placed on it
        // again (it had the most free slots) until its losses ran out, and the request failed having run nothing.
        Exception[] unreachable = [new ConnectionFailedException("Unable to connect"), new SiloUnavailableException()];
        foreach (var error in unreachable)
        {
            Assert.True(UnreachedNode.Is(error, tokensArrived: false), error.GetType().Name);
            Assert.False(UnreachedNode.Is(error, tokensArrived: true), error.GetType().Name);
        }

        Assert.False(UnreachedNode.Is(new InvalidOperationException("the engine failed"), tokensArrived: false));
    }
}
