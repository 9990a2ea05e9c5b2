using Microsoft.Extensions.Time.Testing;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>
/// What a job produced, on its own: the tokens it counts over every run, the text it streams and keeps, what a new
/// activation takes back from a checkpoint, and the text of a resumed run (a stop sequence straddling the interruption).
/// </summary>
public sealed class JobProgressTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly JobSpec Spec = new() { TenantId = "t", Model = "demo", PromptTokens = [1, 2], MaxTokens = 50 };

    private readonly DemoCatalog _demo = new("job-progress");
    private readonly FakeTimeProvider _time = new(T0);
    private readonly JobEventLog _log = new();
    private readonly JobCheckpoints _checkpoints = new(new JobRecoveryOptions());


    public void Dispose() => _demo.Dispose();

    [Fact]
    public void Chunks_start_the_job_count_its_tokens_and_stream_and_keep_its_text()
    {
        var (progress, state) = Start(Spec);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(progress.OnChunk(state, new GenerationChunk("Hello", 1, null, [7]), "n1", keepOutput: true));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(progress.OnChunk(state, new GenerationChunk(" world", 2, null, [8, 9]), "n1", keepOutput: true));

        Assert.Equal((JobStatus.Running, "n1", 3), (state.Info!.Status, state.Info.NodeId, state.Info.CompletionTokens));
        Assert.Equal(T0.AddSeconds(1), state.Info.FirstTokenAt);
        Assert.True(state.PromptProcessed);
        Assert.Equal([7, 8, 9], _checkpoints.Tokens);
        Assert.Equal(3, progress.CompletionTokens);
        Assert.Equal("Hello world", progress.Kept(Spec));
        Assert.Equal("Hello world".Length, _log.EmittedChars);
        Assert.Null(progress.Kept(Spec with { KeepOutput = false }));
    }

    [Fact]
    public void The_cached_prompt_tokens_of_the_run_that_takes_the_prompt_stand_from_its_first_chunk()
    {
        // A run preempted before its end never reports its usage: the first chunk's figure is the job's. A later run's
        // hits (it recomputes the prompt and the output so far) are not the tenant's, and the figure is bounded by the prompt.
        var (progress, state) = Start(Spec);
        state.Info = state.Info! with { PromptTokens = 40 };

        progress.OnChunk(state, new GenerationChunk("Hello", 1, null, [7], null, CachedPromptTokens: 32), "n1", keepOutput: true);
        Assert.Equal(32, state.Info!.CachedPromptTokens);
        progress.OnChunk(state, new GenerationChunk(" world", 1, null, [8]), "n1", keepOutput: true);
        progress.SlotReleased();
        progress.StartRun(state, Spec);
        progress.OnChunk(state, new GenerationChunk("!", 1, null, [9], null, CachedPromptTokens: 40), "n2", keepOutput: true);

        Assert.Equal(32, state.Info!.CachedPromptTokens);

        var (bounded, fresh) = Start(Spec);
        fresh.Info = fresh.Info! with { PromptTokens = 40 };
        bounded.OnChunk(fresh, new GenerationChunk("Hi", 1, null, [7], null, CachedPromptTokens: 64), "n1", keepOutput: true);
        Assert.Equal(40, fresh.Info!.CachedPromptTokens);
    }

    [Fact]
    public void Text_is_streamed_but_not_kept_without_keep_output()
    {
        var (progress, state) = Start(Spec);

        progress.OnChunk(state, new GenerationChunk("Hello", 1, null, [7]), "n1", keepOutput: false);

        Assert.Equal("", progress.Kept(Spec));
        Assert.Equal("Hello".Length, _log.EmittedChars);
    }

    [Fact]
    public void The_dispatcher_is_told_the_tokens_of_each_run_and_the_job_counts_every_run()
    {
        var (progress, state) = Start(Spec);
        progress.OnChunk(state, new GenerationChunk("a", 2, null, [1, 2]), "n1", keepOutput: true);
        Assert.Equal(2, progress.TokensSinceRelease);
        progress.SlotReleased();

        progress.StartRun(state, Spec);
        progress.OnChunk(state, new GenerationChunk("b", 3, null, [3, 4, 5]), "n2", keepOutput: true);

        Assert.Equal(3, progress.TokensSinceRelease);
        // The node counts its own run only (4 with its end-of-sequence token, say).
        Assert.Equal(6, progress.CompletionAfterRun(4));
        Assert.Equal(6, progress.Finish(6));
        Assert.Equal(6, progress.CompletionTokens);
        Assert.Equal(6, progress.Finish(null));
    }

    [Fact]
    public void A_new_activation_takes_back_the_checkpoint_with_the_text_cut_where_watchers_stopped()
    {
        var produced = Encode("The answer is 42.");
        var saved = new JobState { Spec = Spec, ProducedTokens = produced, EmittedChars = "The answer".Length, LastSequence = 5, NodeLosses = 1 };
        var interrupted = Info(JobStatus.Running) with { CompletionTokens = produced.Length, NodeId = "n1" };
        var progress = new JobProgress(_demo.Catalog, _log, _checkpoints, _time);

        progress.Restore(saved, interrupted);

        Assert.Equal(produced.Length, progress.CompletionTokens);
        Assert.Equal(0, progress.TokensSinceRelease);
        Assert.Equal(produced, _checkpoints.Tokens);
        Assert.Equal(2, _checkpoints.NodeLosses);
        Assert.Equal("The answer", progress.Kept(Spec));
        Assert.Equal("The answer".Length, _log.EmittedChars);
        Assert.Equal(produced.Length, saved.Info!.CompletionTokens);
    }

    [Fact]
    public void A_stop_sequence_straddling_the_interruption_stops_the_resumed_run_with_none_of_it_streamed()
    {
        // The lost node released "The answer is 42. " and held "ST", a possible start of "STOP".
        var spec = Spec with { Stop = ["STOP"] };
        var (progress, state) = Resume(spec, "The answer is 42. ST", "The answer is 42. ");

        progress.StartRun(state, spec);
        Assert.False(progress.Stopped);
        progress.OnChunk(state, Chunk("OP and more"), "n2", keepOutput: true);

        Assert.True(progress.Stopped);
        Assert.Equal("The answer is 42. ", progress.Kept(spec));
    }

    [Fact]
    public void A_resumed_run_stopped_mid_chunk_counts_and_records_only_the_tokens_up_to_the_stop()
    {
        // The node's own matcher never saw the stop's start, so its chunk runs past the stop: the job takes the tokens up
        // to the one completing it, with their log probabilities, as the uninterrupted run would have produced.
        var spec = Spec with { Stop = ["STOP"] };
        var (progress, state) = Resume(spec, "The answer is 42. ST", "The answer is 42. ");
        var before = progress.CompletionTokens;
        progress.StartRun(state, spec);
        var ids = Encode("OP and then some more");
        var logprobs = ids.Select((id, i) => new TokenLogprob(id, -1 - i, [])).ToArray();

        progress.OnChunk(state, new GenerationChunk("OP and then some more", ids.Length, null, ids, logprobs), "n2", keepOutput: true);

        Assert.True(progress.Stopped);
        var taken = Assert.Single(Enumerable.Range(1, ids.Length), n => _demo.Model.Tokenizer.Decode(ids[..n]).Contains("OP", StringComparison.Ordinal) && !_demo.Model.Tokenizer.Decode(ids[..(n - 1)]).Contains("OP", StringComparison.Ordinal));
        Assert.True(taken < ids.Length);
        Assert.Equal(before + taken, progress.CompletionTokens);
        Assert.Equal(before + taken, state.Info!.CompletionTokens);
        Assert.Equal(ids[..taken], _checkpoints.Tokens.Skip(before));
        Assert.Equal(logprobs[..taken], _checkpoints.Logprobs.Skip(_checkpoints.Logprobs.Count - taken));
        Assert.Equal("The answer is 42. ", progress.Kept(spec));
    }

    [Fact]
    public void A_template_stop_straddling_the_interruption_stops_the_resumed_run_with_none_of_it_streamed_even_when_stops_are_included()
    {
        // The lost node released "The answer is 42." and held "\nus", a possible start of the chat template's "\nuser:".
        var spec = Spec with { TemplateStop = ["\nuser:"], Output = JobOutputOptions.None with { IncludeStopSequence = true } };
        var (progress, state) = Resume(spec, "The answer is 42.\nus", "The answer is 42.");

        progress.StartRun(state, spec);
        progress.OnChunk(state, Chunk("er: more"), "n2", keepOutput: true);

        Assert.True(progress.Stopped);
        Assert.Equal("The answer is 42.", progress.Kept(spec));
    }

    [Fact]
    public void Held_text_that_is_no_stop_is_streamed_in_order_and_the_rest_at_the_runs_end()
    {
        var spec = Spec with { Stop = ["STOP"] };
        var (progress, state) = Resume(spec, "The answer is 42. ST", "The answer is 42. ");

        progress.StartRun(state, spec);
        progress.OnChunk(state, Chunk("AY and S"), "n2", keepOutput: true);
        Assert.Equal("The answer is 42. STAY and ", progress.Kept(spec));
        progress.EndRun(state, keepOutput: true);

        Assert.False(progress.Stopped);
        Assert.Equal("The answer is 42. STAY and S", progress.Kept(spec));
        Assert.Equal("The answer is 42. STAY and S".Length, _log.EmittedChars);
    }

    [Fact]
    public void Held_text_that_is_released_when_the_run_resumes_is_streamed_at_once()
    {
        // The lost node held back " ST" that the checkpoint's tokens already complete as " STAY".
        var spec = Spec with { Stop = ["STOP"] };
        var (progress, state) = Resume(spec, "The answer is 42. STAY", "The answer is 42.");

        progress.StartRun(state, spec);

        Assert.Equal("The answer is 42. STAY", progress.Kept(spec));
        Assert.Equal(0, progress.TokensSinceRelease);
    }

    [Fact]
    public void A_resumed_run_whose_tokens_reach_max_tokens_ends_by_length_with_the_held_text_streamed()
    {
        // The lost node streamed every token allowed but died before its ending, holding back "ST" (a possible "STOP").
        var produced = Encode("The answer is 42. ST");
        var spec = Spec with { MaxTokens = produced.Length, Stop = ["STOP"] };
        var (progress, state) = Resume(spec, "The answer is 42. ST", "The answer is 42. ");

        Assert.Equal("length", progress.StartResumedRun(state, spec)?.FinishReason);
        Assert.Equal("The answer is 42. ST", progress.Kept(spec));
        Assert.Equal("The answer is 42. ST".Length, _log.EmittedChars);
    }

    [Fact]
    public void A_constrained_run_resumed_at_max_tokens_goes_to_a_node_which_alone_can_tell_stop_from_length()
    {
        // The last token may have completed the value (stop) or not (length); the node rebuilds the constraint and ends
        // the run at once either way. A constraint whose calls repeat never ends the output, so max_tokens is length.
        var produced = Encode("{\"a\": 1}");
        var spec = Spec with { MaxTokens = produced.Length, OutputSchema = """{"type":"object"}""" };
        var (progress, state) = Resume(spec, "{\"a\": 1}", "{\"a\": 1}");
        Assert.Null(progress.StartResumedRun(state, spec));

        var repeating = spec with { OutputSchemaTrigger = "<tool_call>", OutputSchemaRepeats = true };
        var (again, resumed) = Resume(repeating, "{\"a\": 1}", "{\"a\": 1}");
        Assert.Equal("length", again.StartResumedRun(resumed, repeating)?.FinishReason);
    }

    [Fact]
    public void A_resumed_run_with_tokens_left_and_no_end_among_them_goes_on()
    {
        var spec = Spec with { MaxTokens = Encode("The answer is 42.").Length + 1 };
        var (progress, state) = Resume(spec, "The answer is 42.", "The answer is 42.");

        Assert.Null(progress.StartResumedRun(state, spec)?.FinishReason);
        Assert.Equal("The answer is 42.", progress.Kept(spec));
        Assert.Equal(0, progress.TokensSinceRelease);
    }

    [Fact]
    public void A_resumed_run_whose_last_token_is_end_of_sequence_ends_by_stop()
    {
        int[] produced = [.. Encode("The answer is 42."), _demo.Model.Config.EosTokenIds.First()];
        var (progress, state) = ResumeIds(Spec, produced);

        Assert.Equal("stop", progress.StartResumedRun(state, Spec)?.FinishReason);
        Assert.Equal("The answer is 42.", progress.Kept(Spec));
    }

    [Fact]
    public void A_resumed_run_that_ignores_end_of_sequence_goes_on_after_one()
    {
        var spec = Spec with { Output = JobOutputOptions.None with { IgnoreEndOfSequence = true } };
        var (progress, state) = ResumeIds(spec, [.. Encode("The answer is 42."), _demo.Model.Config.EosTokenIds.First()]);

        Assert.Null(progress.StartResumedRun(state, spec)?.FinishReason);
    }

    [Fact]
    public void A_resumed_run_whose_last_token_is_a_stop_token_id_ends_by_stop()
    {
        var produced = Encode("The answer is 42.");
        var spec = Spec with { Output = JobOutputOptions.None with { StopTokenIds = [produced[^1]] } };
        var (progress, state) = ResumeIds(spec, produced);

        Assert.Equal("stop", progress.StartResumedRun(state, spec)?.FinishReason);
    }

    [Fact]
    public void A_resumed_run_whose_text_already_holds_a_stop_sequence_ends_by_stop_with_none_of_it_streamed()
    {
        var spec = Spec with { Stop = ["STOP"] };
        var (progress, state) = Resume(spec, "The answer is 42. STOP and", "The answer is 42. ");

        Assert.Equal("stop", progress.StartResumedRun(state, spec)?.FinishReason);
        Assert.Equal("The answer is 42. ", progress.Kept(spec));
    }

    [Fact]
    public void Erasing_forgets_the_kept_output()
    {
        var (progress, state) = Start(Spec);
        progress.OnChunk(state, new GenerationChunk("Hello", 1, null, [7]), "n1", keepOutput: true);

        progress.Erase();

        Assert.Equal("", progress.Kept(Spec));
        Assert.Equal(1, progress.CompletionTokens);
    }

    private (JobProgress Progress, JobState State) Start(JobSpec spec)
    {
        var state = new JobState { Spec = spec, Info = Info(JobStatus.Queued) };
        var progress = new JobProgress(_demo.Catalog, _log, _checkpoints, _time);
        progress.StartRun(state, spec);
        return (progress, state);
    }

    private (JobProgress Progress, JobState State) Resume(JobSpec spec, string produced, string emitted)
    {
        var tokens = Encode(produced);
        var saved = new JobState { Spec = spec, ProducedTokens = tokens, EmittedChars = emitted.Length };
        var progress = new JobProgress(_demo.Catalog, _log, _checkpoints, _time);
        progress.Restore(saved, Info(JobStatus.Running) with { CompletionTokens = tokens.Length });
        Assert.Equal(emitted, progress.Kept(spec));
        return (progress, saved);
    }

    /// <summary>A job that produced <paramref name="tokens"/>, all of its text streamed, and lost its node.</summary>
    private (JobProgress Progress, JobState State) ResumeIds(JobSpec spec, int[] tokens)
    {
        var saved = new JobState { Spec = spec, ProducedTokens = tokens, EmittedChars = long.MaxValue };
        var progress = new JobProgress(_demo.Catalog, _log, _checkpoints, _time);
        progress.Restore(saved, Info(JobStatus.Running) with { CompletionTokens = tokens.Length });
        return (progress, saved);
    }

    private static JobInfo Info(JobStatus status) => new() { Id = "j", TenantId = "t", Model = "demo", Status = status, SubmittedAt = T0 };

    private GenerationChunk Chunk(string text)
    {
        var ids = Encode(text);
        return new GenerationChunk(text, ids.Length, null, ids);
    }

    private int[] Encode(string text) => [.. _demo.Model.Tokenizer.Encode(text)];
}
