using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Tests.Nodes;

/// <summary>
/// A stopping silo drains its nodes within the host's shutdown timeout, keeping a quarter of it (at most 30 s) for the rest
/// of the stop, counted from when the host began to stop (the HTTP server's wait for its own streams included).
/// </summary>
public sealed class NodeStartupTests
{
    [Theory]
    [InlineData(30, 0, 22.5)]
    [InlineData(600, 0, 570)]
    [InlineData(600, 100, 470)]
    [InlineData(120, 0, 90)]
    [InlineData(30, 25, 0)]
    [InlineData(0, 0, 0)]
    public void The_drain_keeps_a_reserve_of_the_shutdown_timeout(double timeoutSeconds, double sinceSeconds, double budgetSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(budgetSeconds), NodeStartup.DrainBudget(TimeSpan.FromSeconds(timeoutSeconds), TimeSpan.FromSeconds(sinceSeconds)));

    [Fact]
    public void Only_the_hosts_token_bounds_a_drain_with_no_timeout_or_one_beyond_a_timer()
    {
        Assert.Null(NodeStartup.DrainBudget(Timeout.InfiniteTimeSpan, TimeSpan.Zero));
        Assert.Null(NodeStartup.DrainBudget(TimeSpan.FromDays(30), TimeSpan.Zero));
    }
}
