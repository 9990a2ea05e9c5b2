using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Jobs;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>A job reports the prefix cache hits of the run that computed its prompt, never those of a resumed run.</summary>
public sealed class CachedPromptTests
{
    private static GenerationFinal Final(int cached, bool refused = false) => new("stop", 100, 5, null, refused, cached);

    [Fact]
    public void The_run_that_computed_the_prompt_reports_its_hits_bounded_by_the_prompt()
    {
        Assert.Equal(64, CachedPrompt.AfterRun(0, computedPrompt: true, Final(64), promptTokens: 100));
        Assert.Equal(0, CachedPrompt.AfterRun(0, computedPrompt: true, Final(0), promptTokens: 100));
        Assert.Equal(100, CachedPrompt.AfterRun(0, computedPrompt: true, Final(160), promptTokens: 100));
    }

    [Fact]
    public void A_resumed_run_never_replaces_nor_stands_in_for_the_first_runs_figure()
    {
        // The first run reported 32; the resumed run hit the first run's blocks and more.
        Assert.Equal(32, CachedPrompt.AfterRun(32, computedPrompt: false, Final(96), promptTokens: 100));

        // The first run's node died before its usage arrived: the resumed run's hits are the grid's, not the tenant's.
        Assert.Equal(0, CachedPrompt.AfterRun(0, computedPrompt: false, Final(96), promptTokens: 100));
    }

    [Fact]
    public void A_refused_run_or_one_without_its_usage_reports_nothing()
    {
        Assert.Equal(0, CachedPrompt.AfterRun(0, computedPrompt: true, Final(64, refused: true), promptTokens: 100));
        Assert.Equal(0, CachedPrompt.AfterRun(0, computedPrompt: true, final: null, promptTokens: 100));
    }
}
