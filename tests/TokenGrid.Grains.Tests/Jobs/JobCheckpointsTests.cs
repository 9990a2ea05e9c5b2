using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Jobs;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>
/// A job's checkpoints on their own: what is recorded to resume, when a job can no longer resume, how often a
/// checkpoint is saved, and what a new activation takes back from the saved state.
/// </summary>
public sealed class JobCheckpointsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly JobRecoveryOptions Options = new() { CheckpointInterval = TimeSpan.FromSeconds(1), MaxNodeLosses = 2 };
    private static readonly JobInfo Running = new() { Id = "j", TenantId = "t", Model = "m", Status = JobStatus.Running };

    [Fact]
    public void Checkpoints_are_throttled_to_one_per_interval_unless_forced()
    {
        var checkpoints = new JobCheckpoints(Options);

        Assert.True(checkpoints.IsDue(T0, force: false));
        Assert.False(checkpoints.IsDue(T0.AddMilliseconds(999), force: false));
        Assert.True(checkpoints.IsDue(T0.AddMilliseconds(500), force: true));
        Assert.False(checkpoints.IsDue(T0.AddMilliseconds(1499), force: false));
        Assert.True(checkpoints.IsDue(T0.AddMilliseconds(1500), force: false));
    }

    [Fact]
    public void Tokens_without_their_ids_make_the_job_unresumable()
    {
        var checkpoints = new JobCheckpoints(Options);
        checkpoints.Record([1, 2], 2, null);
        Assert.True(checkpoints.Resumable);
        Assert.Null(checkpoints.CannotResume(2));

        checkpoints.Record(null, 3, null);

        Assert.False(checkpoints.Resumable);
        Assert.Equal([1, 2], checkpoints.Tokens);
        Assert.Equal("its node did not report the token ids needed to resume.", checkpoints.CannotResume(5));
        Assert.Null(checkpoints.CannotResume(0));
    }

    [Fact]
    public void A_job_that_lost_its_node_more_times_than_allowed_cannot_resume()
    {
        var checkpoints = new JobCheckpoints(Options);
        checkpoints.NodeLost();
        checkpoints.NodeLost();
        Assert.Null(checkpoints.CannotResume(0));

        checkpoints.NodeLost();

        Assert.Equal("it lost its node 3 times, more than the 2 allowed.", checkpoints.CannotResume(0));
    }

    [Fact]
    public void A_checkpoint_saves_the_tokens_the_stream_position_and_the_losses()
    {
        var checkpoints = new JobCheckpoints(Options);
        checkpoints.Record([7, 8], 2, [new TokenLogprob(7, -1f, []), new TokenLogprob(8, -2f, [])]);
        checkpoints.NodeLost();
        var log = new JobEventLog();
        log.AppendTokens("ab", 2, null);
        var state = new JobState();

        checkpoints.SaveTo(state, log);

        Assert.Equal([7, 8], state.ProducedTokens);
        Assert.Equal([7, 8], state.Logprobs.Select(l => l.TokenId));
        Assert.Equal(log.LastSequence, state.LastSequence);
        Assert.Equal(2, state.EmittedChars);
        Assert.Equal(1, state.NodeLosses);
    }

    [Fact]
    public void A_new_activation_of_a_running_job_counts_one_more_loss_and_resumes_from_the_saved_tokens()
    {
        var saved = new JobState { ProducedTokens = [1, 2, 3], Logprobs = [], NodeLosses = 1 };
        var checkpoints = new JobCheckpoints(Options);

        checkpoints.Restore(saved, Running with { CompletionTokens = 3 });

        Assert.Equal([1, 2, 3], checkpoints.Tokens);
        Assert.Equal(2, checkpoints.NodeLosses);
        Assert.True(checkpoints.Resumable);
        Assert.Null(checkpoints.CannotResume(3));
    }

    [Fact]
    public void A_new_activation_whose_saved_ids_miss_tokens_cannot_resume()
    {
        var saved = new JobState { ProducedTokens = [1, 2], NodeLosses = 0 };
        var checkpoints = new JobCheckpoints(Options);

        checkpoints.Restore(saved, Running with { Status = JobStatus.Queued, CompletionTokens = 5 });

        Assert.Equal(0, checkpoints.NodeLosses);
        Assert.False(checkpoints.Resumable);
        Assert.NotNull(checkpoints.CannotResume(5));
    }

    [Fact]
    public void An_ended_job_keeps_its_log_probabilities_only_with_its_output_and_only_when_they_are_whole()
    {
        var checkpoints = new JobCheckpoints(Options);
        checkpoints.Record([1, 2], 2, [new TokenLogprob(1, -1f, []), new TokenLogprob(2, -2f, [])]);

        Assert.Equal(2, checkpoints.Kept(keepOutput: true, completionTokens: 2).Length);
        Assert.Empty(checkpoints.Kept(keepOutput: false, completionTokens: 2));
        Assert.Empty(checkpoints.Kept(keepOutput: true, completionTokens: 3));

        checkpoints.EraseLogprobs();
        Assert.Empty(checkpoints.Kept(keepOutput: true, completionTokens: 0));
    }
}
