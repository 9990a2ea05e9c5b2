using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Tests.Support;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>
/// The text of a resumed run of a job with stop sequences: the job's own matcher, primed with what the lost node was
/// holding back, finds a stop sequence that straddles the interruption and releases nothing of it.
/// </summary>
public sealed class ResumeTextTests : IDisposable
{
    private readonly DemoCatalog _demo = new("resume-text");


    public void Dispose() => _demo.Dispose();

    [Fact]
    public void A_stop_sequence_straddling_the_interruption_is_found_and_none_of_it_released()
    {
        // The first run produced "The answer is 42. ST"; the node released "The answer is 42. " and held "ST", a possible
        // start of "STOP". The resumed run produces "OP and more".
        var resumed = Resume("The answer is 42. ST", emitted: "The answer is 42. ".Length, "STOP");

        Assert.Equal("", resumed.Text);
        var run = Encode("OP and more");
        Assert.Equal("", resumed.Run.Release(run, out var taken));
        Assert.True(resumed.Run.Stopped);

        // The run ends at the token that completed the stop, as an uninterrupted run would have: the tokens the node
        // produced after it are not the job's.
        Assert.InRange(taken, 1, run.Length - 1);
        Assert.EndsWith("OP", Decode(run[..taken]));
        Assert.DoesNotContain("OP", Decode(run[..(taken - 1)]));
    }

    [Fact]
    public void A_stop_completed_by_a_later_token_of_the_chunk_takes_the_tokens_up_to_that_one()
    {
        // Nothing was held at the interruption; the resumed run's chunk holds the whole stop sequence, mid-chunk.
        var resumed = Resume("The answer is", emitted: "The answer is".Length, " STOP");
        var run = Encode(" 42. STOP and then more text");

        Assert.Equal(" 42.", resumed.Run.Release(run, out var taken));
        Assert.True(resumed.Run.Stopped);
        Assert.EndsWith(" STOP", Decode(run[..taken]));
        Assert.DoesNotContain(" STOP", Decode(run[..(taken - 1)]));
        Assert.True(taken < run.Length);
    }

    [Fact]
    public void Without_a_stop_every_token_of_the_chunk_is_taken()
    {
        var resumed = Resume("The answer is 42. ST", emitted: "The answer is 42. ".Length, "STOP");
        var run = Encode("AY and more");

        resumed.Run.Release(run, out var taken);

        Assert.Equal(run.Length, taken);
    }

    [Fact]
    public void Held_text_that_turns_out_not_to_be_a_stop_is_released_in_order()
    {
        var resumed = Resume("The answer is 42. ST", emitted: "The answer is 42. ".Length, "STOP");

        Assert.Equal("", resumed.Text);
        Assert.Equal("STAY and more", resumed.Run.Release(Encode("AY and more"), out _));
        Assert.False(resumed.Run.Stopped);
        Assert.Equal("", resumed.Run.ReleaseRest());
    }

    [Fact]
    public void At_the_end_of_the_run_a_held_possible_start_is_released()
    {
        var resumed = Resume("The answer is 42.", emitted: "The answer is 42.".Length, "STOP");

        Assert.Equal(" S", resumed.Run.Release(Encode(" S"), out _) + resumed.Run.ReleaseRest());
        Assert.False(resumed.Run.Stopped);
    }

    [Fact]
    public void Without_stop_sequences_the_resumed_text_is_the_decoded_tokens()
    {
        var run = ResumeText.Create(_demo.Catalog, "demo", Encode("The answer is"))!;

        Assert.Equal("The answer is", run.Primed);
        Assert.Equal(" 42 STOP", run.Release(Encode(" 42 STOP"), out _));
        Assert.False(run.Stopped);
    }

    [Fact]
    public void An_end_of_sequence_token_has_no_text_even_when_the_job_ignores_it()
    {
        // As on the node's engine: with ignore_eos the end-of-sequence token is an ordinary output token (it counts),
        // but its text never shows, so the resumed run's text and held-back characters match the uninterrupted run's.
        var eos = _demo.Model.Config.EosTokenIds[0];
        int[] produced = [.. Encode("The answer"), eos, .. Encode(" is")];
        var ignoring = new JobOutputOptions(IgnoreEndOfSequence: true);

        Assert.Equal("The answer is", ResumeText.Create(_demo.Catalog, "demo", produced, ignoring)!.Primed);
        Assert.Equal("The answer is", ResumeText.Decode(_demo.Catalog, "demo", produced, ignoring));
        Assert.Equal("The answer is", ResumeText.Create(_demo.Catalog, "demo", produced)!.Primed);
        Assert.True(ResumeText.Create(_demo.Catalog, "demo", [eos])!.EndsSequence(eos));
        Assert.False(ResumeText.Create(_demo.Catalog, "demo", [eos], ignoring)!.EndsSequence(eos));
    }

    [Fact]
    public void A_stop_token_ids_text_shows_only_when_the_job_includes_stops()
    {
        var produced = Encode("The answer is 42.");
        var stopAtDot = new JobOutputOptions(StopTokenIds: [produced[^1]]);

        Assert.Equal("The answer is 42", ResumeText.Decode(_demo.Catalog, "demo", produced, stopAtDot));
        Assert.Equal("The answer is 42.", ResumeText.Decode(_demo.Catalog, "demo", produced, stopAtDot with { IncludeStopSequence = true }));
    }

    [Fact]
    public void A_template_stop_straddling_the_interruption_is_never_released_even_when_stops_are_included()
    {
        // The node released "The answer is 42." and held "\nus", a possible start of the chat template's "\nuser:".
        var run = ResumeText.Create(_demo.Catalog, "demo", Encode("The answer is 42.\nus"), new JobOutputOptions(IncludeStopSequence: true))!;

        Assert.Equal("", run.MatchStops(["STOP"], "The answer is 42.".Length, templateStops: ["\nuser:"]));
        Assert.Equal("", run.Release(Encode("er: more"), out _));
        Assert.True(run.Stopped);
    }

    [Fact]
    public void The_callers_stop_straddling_the_interruption_is_released_when_stops_are_included()
    {
        var run = ResumeText.Create(_demo.Catalog, "demo", Encode("The answer is 42. ST"), new JobOutputOptions(IncludeStopSequence: true))!;

        Assert.Equal("", run.MatchStops(["STOP"], "The answer is 42. ".Length, templateStops: ["\nuser:"]));
        Assert.Equal("STOP", run.Release(Encode("OP and more"), out _));
        Assert.True(run.Stopped);
    }

    [Fact]
    public void No_stop_ends_within_the_text_of_the_first_min_tokens_across_the_interruption()
    {
        // As on the node (vLLM's min_tokens): a stop that ends within the first min_tokens tokens' text is ordinary text.
        var produced = Encode("The answer is 42. ST");
        var guarding = ResumeText.Create(_demo.Catalog, "demo", produced, new JobOutputOptions(MinTokens: produced.Length + 3))!;
        Assert.Equal("", guarding.MatchStops(["STOP"], "The answer is 42. ".Length));
        Assert.Equal("STOP and STOP", guarding.Release(Encode("OP and STOP"), out _));
        Assert.False(guarding.Stopped);

        // One that starts there and ends in a later token's text still ends the output.
        var straddling = ResumeText.Create(_demo.Catalog, "demo", produced, new JobOutputOptions(MinTokens: produced.Length))!;
        Assert.Equal("", straddling.MatchStops(["STOP"], "The answer is 42. ".Length));
        Assert.Equal("", straddling.Release(Encode("OP and more"), out _));
        Assert.True(straddling.Stopped);
    }

    private (ResumeText Run, string Text) Resume(string produced, int emitted, string stop)
    {
        var run = ResumeText.Create(_demo.Catalog, "demo", Encode(produced))!;
        Assert.Equal(produced, run.Primed);
        return (run, run.MatchStops([stop], emitted));
    }

    private int[] Encode(string text) => [.. _demo.Model.Tokenizer.Encode(text)];

    private string Decode(int[] tokens) => _demo.Model.Tokenizer.Decode(tokens);
}
