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
        Assert.Equal("", resumed.Run.Release(Encode("OP and more")));
        Assert.True(resumed.Run.Stopped);
    }

    [Fact]
    public void Held_text_that_turns_out_not_to_be_a_stop_is_released_in_order()
    {
        var resumed = Resume("The answer is 42. ST", emitted: "The answer is 42. ".Length, "STOP");

        Assert.Equal("", resumed.Text);
        Assert.Equal("STAY and more", resumed.Run.Release(Encode("AY and more")));
        Assert.False(resumed.Run.Stopped);
        Assert.Equal("", resumed.Run.ReleaseRest());
    }

    [Fact]
    public void At_the_end_of_the_run_a_held_possible_start_is_released()
    {
        var resumed = Resume("The answer is 42.", emitted: "The answer is 42.".Length, "STOP");

        Assert.Equal(" S", resumed.Run.Release(Encode(" S")) + resumed.Run.ReleaseRest());
        Assert.False(resumed.Run.Stopped);
    }

    [Fact]
    public void Without_stop_sequences_the_resumed_text_is_the_decoded_tokens()
    {
        var run = ResumeText.Create(_demo.Catalog, "demo", Encode("The answer is"))!;

        Assert.Equal("The answer is", run.Primed);
        Assert.Equal(" 42 STOP", run.Release(Encode(" 42 STOP")));
        Assert.False(run.Stopped);
    }

    [Fact]
    public void A_job_that_ignores_end_of_sequence_resumes_with_the_text_of_its_end_of_sequence_tokens()
    {
        // With ignore_eos an end-of-sequence token is an ordinary token of the output, and the node's engine streams its
        // text. The resumed run must decode it the same way, or its text (and where its held-back characters fall)
        // differs from the run that was never interrupted.
        var eos = _demo.Model.Config.EosTokenIds[0];
        int[] produced = [.. Encode("The answer"), eos, .. Encode(" is")];
        var engine = new StreamingDetokenizer(_demo.Model.Tokenizer);
        var streamed = string.Concat(produced.Select(engine.Append));

        var ignoring = ResumeText.Create(_demo.Catalog, "demo", produced, new JobOutputOptions(IgnoreEndOfSequence: true))!;
        Assert.Equal(streamed, ignoring.Primed);
        Assert.Equal(streamed, ResumeText.Decode(_demo.Catalog, "demo", produced, new JobOutputOptions(IgnoreEndOfSequence: true)));
        Assert.NotEqual("The answer is", streamed);

        // Otherwise the end-of-sequence token has no text (a run would have ended there).
        Assert.Equal("The answer is", ResumeText.Create(_demo.Catalog, "demo", produced)!.Primed);
    }

    private (ResumeText Run, string Text) Resume(string produced, int emitted, string stop)
    {
        var run = ResumeText.Create(_demo.Catalog, "demo", Encode(produced))!;
        Assert.Equal(produced, run.Primed);
        return (run, run.MatchStops([stop], emitted));
    }

    private int[] Encode(string text) => [.. _demo.Model.Tokenizer.Encode(text)];
}
