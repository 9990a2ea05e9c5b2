using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Tests.Nodes;

public sealed class ThroughputWindowTests
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Rates_cover_each_window_separately()
    {
        var window = new ThroughputWindow(TimeSpan.FromSeconds(60));

        // 100 tokens/s for the first 50 s, then 10 tokens/s; sampled every 2 s.
        long tokens = 0;
        for (var t = 0; t <= 70; t += 2)
        {
            window.Add(s_start.AddSeconds(t), tokens);
            tokens += t < 50 ? 200 : 20;
        }

        var now = s_start.AddSeconds(72);
        Assert.Equal(10, window.Rate(now, tokens, TimeSpan.FromSeconds(10)), precision: 6);

        // The oldest sample inside the last 60 s is the one at 12 s, when 6 × 200 tokens had been counted.
        Assert.Equal((tokens - (6 * 200)) / 60.0, window.Rate(now, tokens, TimeSpan.FromSeconds(60)), precision: 6);
    }

    [Fact]
    public void Without_history_the_rate_is_zero_and_a_short_history_covers_itself()
    {
        var window = new ThroughputWindow(TimeSpan.FromSeconds(60));
        Assert.Equal(0, window.Rate(s_start, 0, TimeSpan.FromSeconds(10)));

        window.Add(s_start, 0);
        Assert.Equal(0, window.Rate(s_start, 0, TimeSpan.FromSeconds(10)));
        Assert.Equal(25, window.Rate(s_start.AddSeconds(4), 100, TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public void Growths_of_windows_sampled_together_divide_exactly()
    {
        // 7 decode steps of 3 sequences each over 4.9 s: the ratio of the two rates rounds to 3.0000000000000004.
        var steps = new ThroughputWindow(TimeSpan.FromSeconds(10));
        var batched = new ThroughputWindow(TimeSpan.FromSeconds(10));
        steps.Add(s_start, 0);
        batched.Add(s_start, 0);
        var now = s_start.AddSeconds(4.9);

        var (stepGrowth, seconds) = steps.Growth(now, 7, TimeSpan.FromSeconds(10));
        var (batchedGrowth, _) = batched.Growth(now, 21, TimeSpan.FromSeconds(10));

        Assert.Equal(4.9, seconds);
        Assert.Equal(3.0, (double)batchedGrowth / stepGrowth);
        Assert.Equal((0L, 0.0), new ThroughputWindow(TimeSpan.FromSeconds(10)).Growth(now, 7, TimeSpan.FromSeconds(10)));
    }
}
