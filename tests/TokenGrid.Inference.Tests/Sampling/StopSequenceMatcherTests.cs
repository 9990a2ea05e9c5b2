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

    [Fact]
    public void A_template_stop_is_never_kept_while_the_callers_stop_follows_include()
    {
        var template = new StopSequenceMatcher(["END"], includeStop: true, templateStops: ["\nuser:"]);
        Assert.Equal("abc", template.Push("abc\nus"));
        Assert.Equal("", template.Push("er: more"));
        Assert.True(template.Stopped);

        var caller = new StopSequenceMatcher(["END"], includeStop: true, templateStops: ["\nuser:"]);
        Assert.Equal("abcEND", caller.Push("abcEND\nuser:"));

        // A string in both lists is the caller's: it asked for it.
        var both = new StopSequenceMatcher(["\nuser:"], includeStop: true, templateStops: ["\nuser:"]);
        Assert.Equal("abc\nuser:", both.Push("abc\nuser: x"));
    }

    [Fact]
    public void No_stop_ends_within_text_that_cannot_end_one_but_one_may_start_there()
    {
        // vLLM's min_tokens: a stop that ends within the first tokens' text is ordinary text.
        var m = new StopSequenceMatcher(["ab"]);
        Assert.Equal("xab", m.Push("xab", canEnd: false));
        Assert.Equal("", m.Push("a", canEnd: false));
        Assert.False(m.Stopped);
        Assert.Equal("", m.Push("b c"));
        Assert.True(m.Stopped);

        // Held text that holds a whole stop from the guarded part does not match once stops may end.
        var held = new StopSequenceMatcher(["ab", "xabc"]);
        Assert.Equal("", held.Push("xab", canEnd: false));
        Assert.Equal("xabd", held.Push("d"));
        Assert.False(held.Stopped);
        Assert.Equal("", held.Push("ab"));
        Assert.True(held.Stopped);
    }
}
