using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tests.Scheduling;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Jobs;

[Collection(GridCollection.Name)]
public sealed class JobGrainTests(GridClusterFixture grid)
{
    private const string Prompt = "The token office opened its doors and";

    [Fact]
    public async Task A_job_streams_its_tokens_and_settles_its_exact_usage()
    {
        var tenant = await grid.CreateTenantAsync();
        var job = grid.NewJob();
        var spec = grid.Spec(tenant, Prompt, maxTokens: 24);

        var submitted = await job.SubmitAsync(spec);
        var events = await GridWait.ReadAllAsync(job.WatchAsync(0));

        Assert.Equal(JobStatus.Queued, submitted.Status);
        GridWait.AssertSequences(events);
        Assert.Equal([JobStatus.Queued, JobStatus.Running, JobStatus.Succeeded], events.Where(e => e.Kind == JobEventKind.Status).Select(e => e.Job!.Status));
        var info = events[^1].Job!;
        var tokenEvents = events.Where(e => e.Kind == JobEventKind.Tokens).ToList();
        Assert.NotEmpty(tokenEvents);
        Assert.Equal(info.CompletionTokens, tokenEvents.Sum(e => e.Tokens));
        Assert.Equal(string.Concat(tokenEvents.Select(e => e.Text)), info.Output);
        Assert.Contains(info.FinishReason, new[] { "stop", "length" });
        if (info.FinishReason == "length")
        {
            Assert.Equal(spec.MaxTokens, info.CompletionTokens);
        }
        else
        {
            Assert.InRange(info.CompletionTokens, 1, spec.MaxTokens);
        }

        Assert.Equal(spec.PromptTokens.Length, info.PromptTokens);
        Assert.NotNull(info.NodeId);
        Assert.Null(info.Error);
        Assert.True(info.SubmittedAt <= info.AdmittedAt && info.AdmittedAt <= info.FirstTokenAt && info.FirstTokenAt <= info.FinishedAt);

        var ledger = await grid.LedgerAsync(tenant, info.Id);
        var reserved = Assert.Single(ledger, e => e.Kind == LedgerEntryKind.Reserve).Tokens;
        var charged = Assert.Single(ledger, e => e.Kind == LedgerEntryKind.Charge).Tokens;
        var refunded = ledger.Where(e => e.Kind == LedgerEntryKind.Refund).Sum(e => e.Tokens);
        Assert.Equal(spec.PromptTokens.Length + spec.MaxTokens, reserved);
        Assert.Equal(info.PromptTokens + info.CompletionTokens, charged);
        Assert.Equal(reserved, charged + refunded);
        Assert.Equal(charged, info.ChargedTokens);
        Assert.Equal(JobOutcome.Completed, Assert.Single(grid.Settlements.For(info.Id)).Outcome);

        // A watcher that comes after the end still gets everything, and the job answers as it ended.
        Assert.Equal(events, await GridWait.ReadAllAsync(job.WatchAsync(0)));
        Assert.Equal(info, await job.GetAsync());
    }

    [Fact]
    public async Task A_job_settles_while_its_slot_is_released_and_shows_as_ended_once_both_are_done()
    {
        var tenant = await grid.CreateTenantAsync();
        var job = grid.NewJob();
        var id = job.GetPrimaryKeyString();
        grid.HeldReleases.Hold(id);
        try
        {
            await job.SubmitAsync(grid.Spec(tenant, Prompt, maxTokens: 4));
            var watching = GridWait.ReadAllAsync(job.WatchAsync(0));

            // The run has ended and the dispatcher holds the job's release: the tenant settles the job all the same,
            // while the release is still in flight (released first, it would settle only once the call timed out).
            await grid.HeldReleases.ArrivedAsync(id).WaitAsync(TimeSpan.FromSeconds(60));
            await grid.Settlements.SettledAsync(id).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.False(grid.HeldReleases.HasReturned(id));

            // Until the slot is free the job does not show as ended, to a query or to a watcher.
            Assert.Equal(JobStatus.Running, (await job.GetAsync())!.Status);
            Assert.False(watching.IsCompleted);

            grid.HeldReleases.Let(id);
            var ended = (await watching)[^1].Job!;
            Assert.Equal(JobStatus.Succeeded, ended.Status);
            Assert.Equal(ended.PromptTokens + ended.CompletionTokens, ended.ChargedTokens);
            Assert.Single(grid.Settlements.For(id));
        }
        finally
        {
            grid.HeldReleases.Let(id);
        }
    }

    [Fact]
    public async Task Submitting_twice_returns_the_job_without_admitting_it_again()
    {
        var tenant = await grid.CreateTenantAsync();
        var job = grid.NewJob();
        var spec = grid.Spec(tenant, Prompt, maxTokens: 4);

        var first = await job.SubmitAsync(spec);
        var second = await job.SubmitAsync(spec with { MaxTokens = 8 });
        var events = await GridWait.ReadAllAsync(job.WatchAsync(0));

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(first.SubmittedAt, second.SubmittedAt);
        Assert.Equal(JobStatus.Succeeded, events[^1].Job!.Status);
        Assert.Single(await grid.LedgerAsync(tenant, first.Id), e => e.Kind == LedgerEntryKind.Reserve);
    }

    [Fact]
    public async Task Cancelling_mid_stream_charges_only_the_tokens_produced_and_settles_once()
    {
        var tenant = await grid.CreateTenantAsync();
        var job = grid.NewJob();
        var spec = grid.Spec(tenant, Prompt, maxTokens: 900);
        await job.SubmitAsync(spec);

        await using var watch = job.WatchAsync(0).GetAsyncEnumerator();
        var seen = new List<JobEvent>();
        while (await watch.MoveNextAsync())
        {
            seen.Add(watch.Current);
            if (watch.Current.Kind == JobEventKind.Tokens)
            {
                break;
            }
        }

        var cancelled = await job.CancelAsync(JobOutcomeReason.CancelledByTenant);
        var again = await job.CancelAsync(JobOutcomeReason.ClientDisconnected);
        while (await watch.MoveNextAsync())
        {
            seen.Add(watch.Current);
        }

        Assert.NotNull(cancelled);
        Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        Assert.Null(cancelled.FinishReason);
        Assert.InRange(cancelled.CompletionTokens, 1, spec.MaxTokens - 1);
        Assert.Equal(cancelled, again);
        Assert.Equal(cancelled, seen[^1].Job);
        Assert.Equal(cancelled.CompletionTokens, seen.Where(e => e.Kind == JobEventKind.Tokens).Sum(e => e.Tokens));

        var ledger = await grid.LedgerAsync(tenant, cancelled.Id);
        var reserved = Assert.Single(ledger, e => e.Kind == LedgerEntryKind.Reserve).Tokens;
        var charged = Assert.Single(ledger, e => e.Kind == LedgerEntryKind.Charge).Tokens;
        Assert.Equal(cancelled.PromptTokens + cancelled.CompletionTokens, charged);
        Assert.Equal(reserved, charged + ledger.Where(e => e.Kind == LedgerEntryKind.Refund).Sum(e => e.Tokens));
        Assert.Equal(JobOutcome.Cancelled, Assert.Single(grid.Settlements.For(cancelled.Id)).Outcome);
    }

    [Fact]
    public async Task A_watcher_that_leaves_does_not_cancel_the_job_but_a_client_disconnect_does()
    {
        // The tiny test model is fast: on a loaded machine a job may end before the disconnect arrives. Such an attempt
        // proves nothing either way, so another job is tried (at most three).
        var tenant = await grid.CreateTenantAsync();
        for (var attempt = 1; ; attempt++)
        {
            var job = grid.NewJob();
            await job.SubmitAsync(grid.Spec(tenant, Prompt, maxTokens: 900));

            long lastSeen;
            await using (var first = job.WatchAsync(0).GetAsyncEnumerator())
            {
                do
                {
                    Assert.True(await first.MoveNextAsync());
                }
                while (first.Current.Kind != JobEventKind.Tokens);
                lastSeen = first.Current.Sequence;
            }

            // The job goes on producing after the first watcher left.
            await using var second = job.WatchAsync(lastSeen).GetAsyncEnumerator();
            Assert.True(await second.MoveNextAsync());
            Assert.True(second.Current.Sequence > lastSeen);
            Assert.Equal(JobEventKind.Tokens, second.Current.Kind);

            var cancelled = await job.CancelAsync(JobOutcomeReason.ClientDisconnected);
            if (cancelled!.Status == JobStatus.Succeeded && attempt < 3)
            {
                continue;
            }

            Assert.Equal(JobStatus.Cancelled, cancelled.Status);
            Assert.Equal(JobOutcome.Disconnected, Assert.Single(grid.Settlements.For(cancelled.Id)).Outcome);
            var charged = Assert.Single(await grid.LedgerAsync(tenant, cancelled.Id), e => e.Kind == LedgerEntryKind.Charge).Tokens;
            Assert.Equal(cancelled.PromptTokens + cancelled.CompletionTokens, charged);
            return;
        }
    }

    [Fact]
    public async Task A_rejected_job_never_runs_and_is_not_charged()
    {
        var tenant = await grid.CreateTenantAsync(enabled: false);
        var job = grid.NewJob();

        var info = await job.SubmitAsync(grid.Spec(tenant, Prompt, maxTokens: 8));
        var events = await GridWait.ReadAllAsync(job.WatchAsync(0));

        Assert.Equal(JobStatus.Rejected, info.Status);
        Assert.False(info.Admission!.Admitted);
        Assert.Equal(AdmissionRejection.TenantDisabled, info.Admission.Rejection);
        Assert.False(string.IsNullOrEmpty(info.Error));
        Assert.Null(info.NodeId);
        Assert.Null(info.ChargedTokens);
        Assert.Equal(0, info.CompletionTokens);
        Assert.Equal(info, Assert.Single(events).Job);
        Assert.Empty(grid.Settlements.For(info.Id));
        Assert.DoesNotContain(await grid.LedgerAsync(tenant, info.Id), e => e.Kind is LedgerEntryKind.Reserve or LedgerEntryKind.Charge);
        Assert.Equal(info, await job.CancelAsync(JobOutcomeReason.CancelledByTenant));
    }

    [Fact]
    public async Task A_job_refused_at_admission_that_its_tenant_still_holds_settles_for_nothing_when_the_tenant_wakes_it()
    {
        // A refused job has nothing to settle, so it ends unsettled. Should its tenant hold a reservation for it all the
        // same (made before the job asked, as a choice's is with its group), the tenant's recovery reminder wakes the job
        // as one of its open jobs: it must settle for nothing then, or the reservation stays open for good.
        var budget = new TenantBudget();
        var tenantId = await grid.CreateTenantAsync(budget, enabled: false);
        var tenant = grid.Client.GetGrain<ITenantGrain>(tenantId);
        var job = grid.NewJob();
        var refused = await job.SubmitAsync(grid.Spec(tenantId, Prompt, maxTokens: 8));
        Assert.Equal((JobStatus.Rejected, (long?)null), (refused.Status, refused.ChargedTokens));
        await tenant.UpdateAsync(new TenantSpec("Test tenant", budget));
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest(refused.Id, refused.Model, refused.PromptTokens, 8))).Admitted);

        await job.RecoverAsync(tenantId, refused.Model);
        await grid.Settlements.SettledAsync(refused.Id).WaitAsync(TimeSpan.FromSeconds(30));

        var settlement = Assert.Single(grid.Settlements.For(refused.Id));
        Assert.Equal((JobOutcome.Failed, 0, 0), (settlement.Outcome, settlement.PromptTokens, settlement.CompletionTokens));
        var usage = await tenant.GetUsageAsync();
        Assert.Equal((0L, 0L, 0), (usage.Charged, usage.Reserved, usage.OpenJobs));
        var info = await Poll.UntilAsync(job.GetAsync, i => i!.ChargedTokens is not null, "the job shows its charge");
        Assert.Equal((JobStatus.Rejected, (long?)0), (info!.Status, info.ChargedTokens));
    }

    [Fact]
    public async Task A_job_for_a_model_no_node_serves_is_refused_by_the_scheduler_and_refunded()
    {
        var tenant = await grid.CreateTenantAsync();
        var job = grid.NewJob();

        var submitted = await job.SubmitAsync(grid.Spec(tenant, Prompt, maxTokens: 8, model: "no-such-model"));
        var info = (await GridWait.ReadAllAsync(job.WatchAsync(0)))[^1].Job!;

        // Refused at submission, so the caller learns it at once (HTTP 503), never queued or placed.
        Assert.Equal(info, submitted);
        Assert.Equal(JobStatus.Rejected, info.Status);
        Assert.Equal(SchedulingRejection.NoEligibleNode, info.SchedulingRejection);
        Assert.Null(info.NodeId);
        Assert.Equal("No node serves model 'no-such-model'.", info.Error);
        Assert.Equal(0, info.ChargedTokens);
        var settlement = Assert.Single(grid.Settlements.For(info.Id));
        Assert.Equal((JobOutcome.Failed, 0, 0), (settlement.Outcome, settlement.PromptTokens, settlement.CompletionTokens));
    }

    [Fact]
    public async Task A_job_past_its_timeout_fails_as_timed_out()
    {
        var tenant = await grid.CreateTenantAsync();
        var job = grid.NewJob();

        await job.SubmitAsync(grid.Spec(tenant, Prompt, maxTokens: 900) with { Timeout = TimeSpan.FromTicks(1) });
        var info = (await GridWait.ReadAllAsync(job.WatchAsync(0)))[^1].Job!;

        Assert.Equal(JobStatus.Failed, info.Status);
        Assert.Contains("did not finish", info.Error);
        Assert.True(info.CompletionTokens < 900);
        Assert.Equal(JobOutcome.TimedOut, Assert.Single(grid.Settlements.For(info.Id)).Outcome);
    }

    [Fact]
    public async Task A_finished_job_replays_its_kept_output_after_reactivation()
    {
        var tenant = await grid.CreateTenantAsync();
        var job = grid.NewJob();
        await job.SubmitAsync(grid.Spec(tenant, Prompt, maxTokens: 12));
        var live = await GridWait.ReadAllAsync(job.WatchAsync(0));

        await grid.Cluster.DeactivateAsync(job);
        var replayed = await GridWait.ReadAllAsync(job.WatchAsync(0));

        var info = live[^1].Job!;
        Assert.Equal(2, replayed.Count);
        Assert.Equal(new JobEvent(JobEventSequence.Of(info.Output!.Length, 0), JobEventKind.Tokens, info.Output, info.CompletionTokens, null), replayed[0]);
        Assert.Equal(info, replayed[1].Job);

        // The sequences are those of the first activation, so a watcher re-attaching from any of them resumes exactly.
        Assert.Equal(live[^1].Sequence, replayed[1].Sequence);
        var middle = live.First(e => e.Kind == JobEventKind.Tokens);
        var resumed = await GridWait.ReadAllAsync(job.WatchAsync(middle.Sequence));
        Assert.Equal(info.Output, middle.Text + resumed[0].Text);
        Assert.Equal(info, await job.GetAsync());
        Assert.Single(grid.Settlements.For(info.Id));
    }

    [Fact]
    public async Task An_unknown_job_is_null()
    {
        var job = grid.NewJob();

        Assert.Null(await job.GetAsync());
        Assert.Null(await job.CancelAsync(JobOutcomeReason.CancelledByTenant));
        Assert.Empty(await GridWait.ReadAllAsync(job.WatchAsync(0)));
    }
}
