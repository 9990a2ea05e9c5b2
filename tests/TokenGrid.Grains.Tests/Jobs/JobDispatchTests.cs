using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Jobs;
using TokenGrid.Inference.Engine.Prefix;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>What a job asks of its dispatcher and of each node, fresh and after resuming.</summary>
public sealed class JobDispatchTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly JobSpec Spec = new()
    {
        TenantId = "t", Model = "m", PromptTokens = [1, 2, 3], MaxTokens = 10, Choice = new JobChoice("g", 0, 2),
    };

    private static readonly AdmissionResult s_admitted =
        new(true, null, null, null, new RateLimitSnapshot(1, 1, TimeSpan.Zero, 1, 1, TimeSpan.Zero), 0, PriorityClass.Standard, 1);

    [Fact]
    public void A_fresh_job_asks_for_its_spec_at_its_tenants_class_with_its_group_as_affinity()
    {
        var checkpoints = new JobCheckpoints(new JobRecoveryOptions());

        var request = JobDispatch.Request("j", Spec, null, checkpoints, T0, resumed: false);

        Assert.Equal((3, 10, PriorityClass.Standard, 1), (request.PromptTokens, request.MaxTokens, request.Priority, request.Weight));
        Assert.Equal("g", request.AffinityKey);
        Assert.True(request.Preemptible);
        Assert.False(request.Resumed);
        Assert.Equal(T0, request.EnqueuedAt);
        Assert.Equal((Spec.PromptTokens, 10), JobDispatch.NextRun(Spec, checkpoints.Tokens));
    }

    [Fact]
    public void A_resumed_job_recomputes_what_it_produced_as_prompt_and_shares_it_with_no_sibling()
    {
        var checkpoints = new JobCheckpoints(new JobRecoveryOptions());
        checkpoints.Record([7, 8], 2, null);

        var request = JobDispatch.Request("j", Spec, null, checkpoints, T0, resumed: true);
        var run = JobDispatch.NextRun(Spec, checkpoints.Tokens);

        Assert.Equal((5, 8), (request.PromptTokens, request.MaxTokens));
        Assert.Null(request.AffinityKey);
        Assert.Equal([1, 2, 3, 7, 8], run.PromptTokens);
        Assert.Equal(8, run.MaxTokens);

        // The node is told how many of the prompt's tokens are output already, so the sequence goes on where it stopped.
        var generation = JobDispatch.Generation("j", Spec with { Stop = ["END"], TemplateStop = ["\nuser:"] }, checkpoints.Tokens, s_admitted);
        Assert.Equal(("j", "m", 8, 2, "g"), (generation.JobId, generation.Model, generation.MaxTokens, generation.ResumedOutputTokens, generation.ForkKey));
        Assert.Equal([1, 2, 3, 7, 8], generation.PromptTokens);
        // The request's stops and the chat template's travel apart: only the request's may show in the output.
        Assert.Equal(["END"], generation.Stop);
        Assert.Equal(["\nuser:"], generation.TemplateStop!);
    }

    [Fact]
    public void A_job_asks_with_its_runs_prompt_cut_into_blocks_in_its_prefix_cache_scope()
    {
        var spec = Spec with { PromptTokens = [.. Enumerable.Range(1, 40)] };
        var checkpoints = new JobCheckpoints(new JobRecoveryOptions());

        var request = JobDispatch.Request("j", spec, null, checkpoints, T0, resumed: false, prefixBlockTokens: 16);

        Assert.Equal(16, request.PrefixBlockTokens);
        Assert.Equal(PrefixHashes.Summaries("tenant:t", spec.PromptTokens, 16), request.PrefixBlocks);
        Assert.Equal(2, request.PrefixBlocks!.Length);

        // A shared scope cuts the same blocks to other keys; a resumed run's prompt includes what it produced.
        var shared = JobDispatch.Request("j", spec, s_admitted with { PrefixCacheScope = "shared:faq" }, checkpoints, T0, resumed: false, prefixBlockTokens: 16);
        Assert.Equal(PrefixHashes.Summaries("shared:faq", spec.PromptTokens, 16), shared.PrefixBlocks);
        Assert.NotEqual(request.PrefixBlocks, shared.PrefixBlocks);
        checkpoints.Record([.. Enumerable.Range(100, 8)], 8, null);
        var resumed = JobDispatch.Request("j", spec, null, checkpoints, T0, resumed: true, prefixBlockTokens: 16);
        Assert.Equal(3, resumed.PrefixBlocks!.Length);
        Assert.Equal(request.PrefixBlocks, resumed.PrefixBlocks[..2]);

        // Off, or a prompt shorter than one block: no blocks, placement by load alone.
        var off = JobDispatch.Request("j", spec, null, checkpoints, T0, resumed: false);
        Assert.Equal((null, 0), (off.PrefixBlocks, off.PrefixBlockTokens));
        Assert.Null(JobDispatch.Request("j", Spec, null, new JobCheckpoints(new JobRecoveryOptions()), T0, resumed: false, prefixBlockTokens: 16).PrefixBlocks);
    }

    [Fact]
    public void A_request_may_lower_its_class_but_not_raise_it()
    {
        Assert.Equal(PriorityClass.Low, JobDispatch.Priority(PriorityClass.Standard, PriorityClass.Low));
        Assert.Equal(PriorityClass.Standard, JobDispatch.Priority(PriorityClass.Standard, PriorityClass.High));
        Assert.Equal(PriorityClass.High, JobDispatch.Priority(PriorityClass.High, null));
    }

    [Fact]
    public void A_refused_job_takes_the_schedulers_reason_and_a_queued_one_its_place()
    {
        var queued = new JobInfo { Id = "j", TenantId = "t", Model = "m", Status = JobStatus.Queued };
        var refusal = new EnqueueResult { Queued = false, Rejection = SchedulingRejection.ModelQueueFull, RetryAfter = TimeSpan.FromSeconds(2) };

        var (refused, ending) = JobDispatch.Enqueued(queued, refusal);

        Assert.Equal((SchedulingRejection.ModelQueueFull, TimeSpan.FromSeconds(2)), (refused.SchedulingRejection, refused.RetryAfter));
        Assert.Equal(new JobEnding(JobStatus.Rejected, JobOutcome.Failed, "The scheduler refused the job (ModelQueueFull)."), ending);
        Assert.Equal("full", JobDispatch.Enqueued(queued, refusal with { Message = "full" }).Refused!.Value.Error);

        var (waiting, none) = JobDispatch.Enqueued(queued, new EnqueueResult { Queued = true, Position = 3, ExpectedWait = TimeSpan.FromSeconds(9) });
        Assert.Null(none);
        Assert.Equal((3, TimeSpan.FromSeconds(9)), (waiting.QueuePosition, waiting.ExpectedWait));
        Assert.Same(queued, JobDispatch.Enqueued(queued, new EnqueueResult { Queued = true, Position = 0 }).Info);
        var running = queued with { Status = JobStatus.Running };
        Assert.Same(running, JobDispatch.Enqueued(running, new EnqueueResult { Queued = true, Position = 3 }).Info);
    }

    [Fact]
    public void A_job_takes_its_model_fingerprint_to_its_dispatcher_and_every_run_and_a_resumed_one_refused_fails()
    {
        var spec = Spec with { ModelFingerprint = "fp_0123456789abcdef" };
        var checkpoints = new JobCheckpoints(new JobRecoveryOptions());
        checkpoints.Record([7, 8], 2, null);

        Assert.Equal("fp_0123456789abcdef", JobDispatch.Request("j", spec, null, checkpoints, T0, resumed: true).ModelFingerprint);
        Assert.Equal("fp_0123456789abcdef", JobDispatch.Generation("j", spec, checkpoints.Tokens, s_admitted).ModelFingerprint);

        // Refused as it queues to go on (no node serves the model from its files any more): it ran, so it fails and settles
        // what it produced, with no retry delay, since sending it again would not resume it.
        var queued = new JobInfo { Id = "j", TenantId = "t", Model = "m", Status = JobStatus.Queued };
        var refusal = new EnqueueResult { Queued = false, Rejection = SchedulingRejection.NoEligibleNode, Message = "other files", RetryAfter = TimeSpan.FromSeconds(2) };
        var (info, ending) = JobDispatch.Enqueued(queued, refusal, resumed: true);
        Assert.Equal(new JobEnding(JobStatus.Failed, JobOutcome.Failed, "other files"), ending);
        Assert.Null(info.RetryAfter);
    }
}
