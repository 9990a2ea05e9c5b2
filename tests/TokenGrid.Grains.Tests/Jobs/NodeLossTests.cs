using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>
/// <c>TokenGrid:Jobs:MaxNodeLosses</c> (default 3): a job resumes after losing its node mid-run up to that many times,
/// with the output of an uninterrupted run; one loss more and it fails with the reason, charged for what it produced.
/// </summary>
[Collection(GridCollection.Name)]
public sealed class NodeLossTests(GridClusterFixture grid)
{
    private const string Prompt = "The token office opened its doors and";

    [Fact]
    public async Task A_job_resumes_after_losing_its_node_max_node_losses_times_and_fails_at_the_next_loss()
    {
        var allowed = grid.Cluster.GetSiloServiceProvider().GetRequiredService<IOptions<JobRecoveryOptions>>().Value.MaxNodeLosses;
        Assert.Equal(3, allowed);
        var tenant = await grid.CreateTenantAsync();
        var spec = grid.Spec(tenant, Prompt, maxTokens: 300) with { Output = JobOutputOptions.None with { IgnoreEndOfSequence = true } };
        var reference = (await RunAsync(spec, losses: 0)).Job!;

        var resumed = await RunAsync(spec, losses: allowed);
        var failed = await RunAsync(spec, losses: allowed + 1);

        Assert.Equal((JobStatus.Succeeded, reference.Output), (resumed.Job!.Status, resumed.Job.Output));
        Assert.Equal(reference.CompletionTokens, resumed.Job.CompletionTokens);
        Assert.Equal(JobStatus.Failed, failed.Job!.Status);
        Assert.Contains($"lost its node {allowed + 1} times, more than the {allowed} allowed", failed.Job.Error, StringComparison.Ordinal);
        Assert.InRange(failed.Job.CompletionTokens, 1, spec.MaxTokens - 1);
        foreach (var job in new[] { resumed.Job, failed.Job })
        {
            // Charged once, for what it produced: the prompt and every token of every run, recomputation free.
            var charge = Assert.Single(await grid.LedgerAsync(tenant, job.Id), e => e.Kind == LedgerEntryKind.Charge);
            Assert.Equal(job.PromptTokens + job.CompletionTokens, charge.Tokens);
        }
    }

    /// <summary>
    /// The node is lost after streaming the run's last token and before its ending: the job has every token it may
    /// produce, so it ends by length with the output of an uninterrupted run, instead of asking a node for zero tokens
    /// (which failed the job: "max_tokens must be at least 1").
    /// </summary>
    [Fact]
    public async Task A_job_whose_node_is_lost_after_its_last_token_ends_by_length_with_the_same_output()
    {
        var tenant = await grid.CreateTenantAsync();
        var spec = grid.Spec(tenant, Prompt, maxTokens: 40) with { Output = JobOutputOptions.None with { IgnoreEndOfSequence = true } };
        var reference = (await RunAsync(spec, losses: 0)).Job!;

        var job = grid.NewJob();
        grid.LostNodes.LoseBeforeTheEnd(job.GetGrainId());
        await job.SubmitAsync(spec);
        var events = await GridWait.ReadAllAsync(job.WatchAsync(0));
        GridWait.AssertSequences(events);
        var ended = events[^1].Job!;

        Assert.Equal(0, grid.LostNodes.LossesLeft(job.GetGrainId()));
        Assert.Equal((JobStatus.Succeeded, "length", reference.Output, spec.MaxTokens), (ended.Status, ended.FinishReason, ended.Output, ended.CompletionTokens));
        var charge = Assert.Single(await grid.LedgerAsync(tenant, ended.Id), e => e.Kind == LedgerEntryKind.Charge);
        Assert.Equal(ended.PromptTokens + ended.CompletionTokens, charge.Tokens);
    }

    /// <summary>Runs <paramref name="spec"/> with its node lost mid-run <paramref name="losses"/> times; its final event.</summary>
    private async Task<JobEvent> RunAsync(JobSpec spec, int losses)
    {
        var job = grid.NewJob();
        grid.LostNodes.Lose(job.GetGrainId(), losses);
        await job.SubmitAsync(spec);
        var events = await GridWait.ReadAllAsync(job.WatchAsync(0));
        GridWait.AssertSequences(events);
        Assert.Equal(0, grid.LostNodes.LossesLeft(job.GetGrainId()));
        return events[^1];
    }
}
