using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Tests.Sampling;

public sealed class StopSequenceMatcherTests
{
    [Fact]
    public void Holds_back_a_possible_stop_and_cuts_before_it()
    {
        var m = new StopSequenceMatcher(["END"]);
        Assert.Equal("abc", m.Push("abcE"));
        Assert.Equal("", m.Push("N"));
        Assert.Equal("", m.Push("Dxyz"));
        Assert.True(m.Stopped);
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void Releases_held_text_that_turned_out_not_to_be_a_stop()
    {
        var m = new StopSequenceMatcher(["END"]);
        Assert.Equal("a", m.Push("aEN"));
        Assert.Equal("ENx", m.Push("x"));
        Assert.Equal("E", m.Push("E") + m.Flush());
        Assert.False(m.Stopped);
    }

    [Fact]
    public void Earliest_of_several_stops_wins()
    {
        var m = new StopSequenceMatcher(["world", "lo"]);
        Assert.Equal("hel", m.Push("hello world"));
        Assert.True(m.Stopped);
    }

    [Fact]
    public void Without_stops_everything_passes_through()
    {
        var m = new StopSequenceMatcher([]);
        Assert.Equal("abc", m.Push("abc"));
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void Including_the_stop_keeps_the_matched_text_and_nothing_after_it()
    {
        var m = new StopSequenceMatcher(["END", "ENDING"], includeStop: true);
        Assert.Equal("abc", m.Push("abcE"));
        Assert.Equal("END", m.Push("NDxyz"));
        Assert.True(m.Stopped);
        Assert.Equal("", m.Push("more") + m.Flush());
    }
}
