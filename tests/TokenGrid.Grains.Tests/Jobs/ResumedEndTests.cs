using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>
/// A job whose node streamed its last token and was lost before the ending: the job resumes with every token it may
/// produce already produced, or with the token that ends it last. It ends as the node would have, with the same output
/// and tokens. It used to ask a node for zero tokens (refused: "max_tokens must be at least 1", so the job failed), or to
/// generate past its end.
/// </summary>
/// <remarks>
/// The loss is played from storage, as in <see cref="JobReattachTests"/> (<see cref="GridClusterFixture.RewindToCheckpointAsync"/>):
/// the job runs to its end, its saved state is put back to a checkpoint holding every token it produced with its ending
/// not yet saved, and the activation is dropped. A watcher re-attaching after the last token it saw reactivates the job,
/// which resumes from that checkpoint.
/// </remarks>
[Collection(GridCollection.Name)]
public sealed class ResumedEndTests(GridClusterFixture grid)
{
    private const string Prompt = "The token office opened its doors and";

    [Fact]
    public async Task A_job_that_produced_all_its_max_tokens_before_the_loss_ends_by_length_without_running_again()
    {
        var tenant = await grid.CreateTenantAsync();
        var spec = grid.Spec(tenant, Prompt, maxTokens: 40) with
        {
            Output = JobOutputOptions.None with { TopLogprobs = 0, IgnoreEndOfSequence = true },
        };

        var (first, resumed) = await RunAndResumeAtTheEndAsync(tenant, spec);

        Assert.Equal("length", first.FinishReason);
        AssertEndedAsBefore(first, resumed);
    }

    [Fact]
    public async Task A_job_whose_last_token_ended_its_sequence_before_the_loss_ends_by_stop_without_generating_past_it()
    {
        var tenant = await grid.CreateTenantAsync();
        var free = grid.Spec(tenant, Prompt, maxTokens: 40) with
        {
            Output = JobOutputOptions.None with { TopLogprobs = 0, IgnoreEndOfSequence = true },
        };
        var job = grid.NewJob();
        await job.SubmitAsync(free);
        var reference = (await GridWait.ReadAllAsync(job.WatchAsync(0)))[^1].Job!;
        var ids = (await SavedAsync(job)).Logprobs.Select(l => l.TokenId).ToList();
        // A token first produced well inside the output, as a stop token id: the sequence ends there.
        var at = Enumerable.Range(10, 20).First(i => ids.IndexOf(ids[i]) == i);
        var spec = free with { Output = free.Output! with { StopTokenIds = [ids[at]] } };

        var (first, resumed) = await RunAndResumeAtTheEndAsync(tenant, spec);

        Assert.Equal(("stop", at + 1), (first.FinishReason, first.CompletionTokens));
        Assert.StartsWith(first.Output!, reference.Output!, StringComparison.Ordinal);
        AssertEndedAsBefore(first, resumed);
    }

    /// <summary>
    /// Runs <paramref name="spec"/> to its end, plays the loss of its grain after its last token, and re-attaches as a
    /// watcher that saw every token: the job as it first ended, and as it ended after resuming.
    /// </summary>
    private async Task<(JobInfo First, JobInfo Resumed)> RunAndResumeAtTheEndAsync(string tenant, JobSpec spec)
    {
        var job = grid.NewJob();
        await job.SubmitAsync(spec);
        var live = await GridWait.ReadAllAsync(job.WatchAsync(0));
        var first = live[^1].Job!;
        Assert.Equal(JobStatus.Succeeded, first.Status);

        // Every token produced and streamed; the ending not yet saved.
        var last = live.Last(e => e.Kind == JobEventKind.Tokens);
        await grid.RewindToCheckpointAsync(job, first, first.CompletionTokens, last);

        var rest = await GridWait.ReadAllAsync(job.WatchAsync(last.Sequence));
        Assert.DoesNotContain(rest, e => e.Kind == JobEventKind.Tokens && e.Tokens > 0);
        var seen = string.Concat(live.TakeWhile(e => e != last).Append(last).Select(e => e.Text));
        Assert.Equal(first.Output, seen + string.Concat(rest.Select(e => e.Text)));

        // Charged once, for what it produced.
        var charge = Assert.Single(await grid.LedgerAsync(tenant, first.Id), e => e.Kind == LedgerEntryKind.Charge);
        Assert.Equal(first.PromptTokens + first.CompletionTokens, charge.Tokens);
        return (first, rest[^1].Job!);
    }

    private static void AssertEndedAsBefore(JobInfo first, JobInfo resumed) => Assert.Equal(
        (JobStatus.Succeeded, first.FinishReason, first.CompletionTokens, first.Output, first.NodeId),
        (resumed.Status, resumed.FinishReason, resumed.CompletionTokens, resumed.Output, resumed.NodeId));

    private async Task<JobState> SavedAsync(IJobGrain job)
    {
        var saved = new GrainState<JobState>();
        await grid.Cluster.GetSiloServiceProvider().GetRequiredKeyedService<IGrainStorage>(TokenGridStorage.Name).ReadStateAsync("job", job.GetGrainId(), saved);
        return saved.State ?? throw new InvalidOperationException("The job saved no state.");
    }
}
