using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;

using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Scheduling;

[Collection(SchedulingCollection.Name)]
public sealed class PreemptionTests(SchedulingClusterFixture grid)
{
    private const int BatchTokens = 400;

    /// <summary>
    /// Tokens of the seeded job, which ignores end-of-sequence: long enough that the model's end-of-sequence token comes
    /// up mid-output (as an ordinary token, with its text) after the preemption.
    /// </summary>
    private const int IgnoringTokens = 1000;

    /// <summary>Tokens of the jobs with a stop sequence: long enough that the stop comes well after the preemption.</summary>
    private const int LongTokens = 900;

    [Fact]
    public async Task An_interactive_job_preempts_batch_work_which_resumes_with_its_greedy_output_and_is_charged_once()
    {
        // Region west: one node, two slots.
        var batch = await grid.CreateTenantAsync(PriorityClass.Low, region: "west");
        var interactive = await grid.CreateTenantAsync(PriorityClass.High, region: "west");
        var (alone, _) = await grid.SubmitAsync(batch, BatchTokens, promptLength: 12);
        var reference = await SchedulingClusterFixture.FinishedAsync(alone);
        Assert.True(reference.CompletionTokens > 32, "the reference output is too short to be preempted mid-stream");
        var preemptionsBefore = (await grid.Dispatcher.GetSnapshotAsync()).Preemptions;

        // Both slots hold batch work that has started streaming: the first chunk, which a node sends at once (later
        // ones wait out the stream interval, by which time the tiny model may be done).
        var first = await grid.SubmitAsync(batch, BatchTokens, promptLength: 12);
        var second = await grid.SubmitAsync(batch, BatchTokens, promptLength: 12);
        await SchedulingClusterFixture.UntilStreamingAsync(first.Grain);
        await SchedulingClusterFixture.UntilStreamingAsync(second.Grain);

        var (urgent, _) = await grid.SubmitAsync(interactive, maxTokens: 8);
        var urgentInfo = await SchedulingClusterFixture.FinishedAsync(urgent);
        var firstEvents = await GridWait.ReadAllAsync(first.Grain.WatchAsync(0));
        var secondEvents = await GridWait.ReadAllAsync(second.Grain.WatchAsync(0));

        Assert.Equal(JobStatus.Succeeded, urgentInfo.Status);
        Assert.Equal(grid.NodeId("cpu0"), urgentInfo.NodeId);
        var batchInfos = new[] { firstEvents[^1].Job!, secondEvents[^1].Job! };

        // The interactive job did not wait for the batch work to end: it took the slot of one batch job, which resumed
        // after it. (The other batch job kept its slot and may finish first on a fast machine: that is not waiting.)
        var preempted = Assert.Single(batchInfos, b => b.Preemptions > 0);
        Assert.Equal(1, preempted.Preemptions);
        Assert.True(urgentInfo.FinishedAt < preempted.FinishedAt, "the interactive job waited for batch work");
        Assert.True((await grid.Dispatcher.GetSnapshotAsync()).Preemptions > preemptionsBefore);

        // Both batch jobs have exactly the output of the job that ran alone, and ran only in region west.
        foreach (var (info, events) in new[] { (batchInfos[0], firstEvents), (batchInfos[1], secondEvents) })
        {
            Assert.Equal(JobStatus.Succeeded, info.Status);
            Assert.Equal(reference.Output, info.Output);
            Assert.Equal((reference.CompletionTokens, reference.FinishReason), (info.CompletionTokens, info.FinishReason));
            Assert.Equal(grid.NodeId("cpu0"), info.NodeId);

            // The stream has no gap and no duplicate: each sequence is the position in the text, and the text is the output.
            GridWait.AssertSequences(events);
            Assert.Equal(info.Output, string.Concat(events.Where(e => e.Kind == JobEventKind.Tokens).Select(e => e.Text)));
            Assert.Equal(info.CompletionTokens, events.Where(e => e.Kind == JobEventKind.Tokens).Sum(e => e.Tokens));

            // Charged once: the original prompt and the tokens delivered, never the recomputed prompt.
            Assert.Equal(info.PromptTokens + info.CompletionTokens, info.ChargedTokens);
            var settlement = Assert.Single(grid.Settlements.For(info.Id));
            Assert.Equal((12, info.CompletionTokens, JobOutcome.Completed), (settlement.PromptTokens, settlement.CompletionTokens, settlement.Outcome));
        }

        var statuses = (preempted.Id == batchInfos[0].Id ? firstEvents : secondEvents)
            .Where(e => e.Kind == JobEventKind.Status).Select(e => e.Job!.Status);
        Assert.Equal([JobStatus.Queued, JobStatus.Running, JobStatus.Queued, JobStatus.Running, JobStatus.Succeeded], statuses);
    }

    [Fact]
    public async Task A_preempted_structured_job_rebuilds_its_constraint_and_resumes_to_the_same_value()
    {
        // 150 to 200 digits: long enough to be preempted in the middle of the value. A resumed run that forgot where it
        // was in the schema would be masked as if starting a new value, and its output would differ or not parse.
        const string Schema = """{"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 9}, "minItems": 150, "maxItems": 200}""";
        var batch = await grid.CreateTenantAsync(PriorityClass.Low, region: "west");
        var interactive = await grid.CreateTenantAsync(PriorityClass.High, region: "west");
        var reference = await SchedulingClusterFixture.FinishedAsync((await grid.SubmitAsync(batch, BatchTokens, promptLength: 12, outputSchema: Schema)).Grain);
        using (var json = System.Text.Json.JsonDocument.Parse(reference.Output!))
        {
            Assert.InRange(json.RootElement.GetArrayLength(), 150, 200);
        }

        var first = await grid.SubmitAsync(batch, BatchTokens, promptLength: 12, outputSchema: Schema);
        var second = await grid.SubmitAsync(batch, BatchTokens, promptLength: 12, outputSchema: Schema);
        await SchedulingClusterFixture.UntilStreamingAsync(first.Grain);
        await SchedulingClusterFixture.UntilStreamingAsync(second.Grain);
        await SchedulingClusterFixture.FinishedAsync((await grid.SubmitAsync(interactive, maxTokens: 8)).Grain);

        var runs = new[] { await SchedulingClusterFixture.FinishedAsync(first.Grain), await SchedulingClusterFixture.FinishedAsync(second.Grain) };
        Assert.Contains(runs, run => run.Preemptions > 0);
        Assert.All(runs, run => Assert.Equal((reference.Output, reference.CompletionTokens, "stop"), (run.Output, run.CompletionTokens, run.FinishReason)));
    }

    [Fact]
    [Trait("Requires", "sampler")]
    public async Task A_preempted_seeded_job_with_penalties_resumes_to_the_same_tokens_and_log_probabilities()
    {
        // Sampled (seeded), penalised and reporting log probabilities: a resumed run must continue the random stream and
        // the penalty counts where the first run stopped (ResumedOutputTokens), or its output would differ. It ignores
        // end-of-sequence, so its end-of-sequence tokens are text like any other: the resumed run's text, which the job
        // decodes itself, must include theirs as the node's did.
        var sampling = new JobSampling(0.9f, 0.95f, 40, Seed: 2026, PresencePenalty: 0.8f, FrequencyPenalty: 0.5f, RepetitionPenalty: 1.1f);
        var output = new JobOutputOptions(MinTokens: 40, TopLogprobs: 2, IgnoreEndOfSequence: true);
        var batch = await grid.CreateTenantAsync(PriorityClass.Low, region: "west");
        var interactive = await grid.CreateTenantAsync(PriorityClass.High, region: "west");
        var (alone, _) = await grid.SubmitAsync(batch, IgnoringTokens, promptLength: 12, sampling: sampling, output: output);
        var reference = await GridWait.ReadAllAsync(alone.WatchAsync(0));

        var first = await grid.SubmitAsync(batch, IgnoringTokens, promptLength: 12, sampling: sampling, output: output);
        var second = await grid.SubmitAsync(batch, IgnoringTokens, promptLength: 12, sampling: sampling, output: output);
        await SchedulingClusterFixture.UntilStreamingAsync(first.Grain);
        await SchedulingClusterFixture.UntilStreamingAsync(second.Grain);
        await SchedulingClusterFixture.FinishedAsync((await grid.SubmitAsync(interactive, maxTokens: 8)).Grain);

        var runs = new[] { await GridWait.ReadAllAsync(first.Grain.WatchAsync(0)), await GridWait.ReadAllAsync(second.Grain.WatchAsync(0)) };
        Assert.Contains(runs, events => events[^1].Job!.Preemptions > 0);
        var expected = reference.Where(e => e.Kind == JobEventKind.Tokens).SelectMany(e => e.Logprobs ?? []).ToList();
        Assert.Equal(IgnoringTokens, expected.Count);
        Assert.Contains(SchedulingClusterFixture.EndOfSequence, expected.Select(l => l.TokenId));
        foreach (var events in runs)
        {
            Assert.Equal(reference[^1].Job!.Output, events[^1].Job!.Output);
            var logprobs = events.Where(e => e.Kind == JobEventKind.Tokens).SelectMany(e => e.Logprobs ?? []).ToList();
            Assert.Equal(expected.Select(l => l.TokenId), logprobs.Select(l => l.TokenId));

            // A recomputed prefix may round differently from the step-by-step run.
            Assert.All(expected.Zip(logprobs), pair => Assert.Equal(pair.First.Logprob, pair.Second.Logprob, 2));
        }
    }

    [Fact]
    [Trait("Requires", "sampler")]
    public async Task Preempted_choices_of_one_request_resume_to_their_own_seeded_output_and_the_prompt_is_charged_once()
    {
        // Two choices of one n = 2 request (one job each, admitted as a group, seeds 31 and 32), penalised.
        var sampling = new JobSampling(0.9f, 0.95f, 40, Seed: 31, PresencePenalty: 0.8f, FrequencyPenalty: 0.5f);
        var output = new JobOutputOptions(MinTokens: 40);
        var batch = await grid.CreateTenantAsync(PriorityClass.Low, region: "west");
        var interactive = await grid.CreateTenantAsync(PriorityClass.High, region: "west");
        async Task<IJobGrain[]> SubmitChoicesAsync()
        {
            string[] ids = [$"job-{Guid.NewGuid():N}", $"job-{Guid.NewGuid():N}"];
            var admitted = await grid.Client.GetGrain<ITenantGrain>(batch).AdmitGroupAsync(
                [new AdmissionRequest(ids[0], SchedulingClusterFixture.Model, 12, BatchTokens), new AdmissionRequest(ids[1], SchedulingClusterFixture.Model, 0, BatchTokens)]);
            Assert.True(admitted.Admitted);
            var jobs = new IJobGrain[2];
            for (var i = 0; i < 2; i++)
            {
                jobs[i] = (await grid.SubmitAsync(batch, BatchTokens, promptLength: 12, sampling: sampling with { Seed = 31UL + (ulong)i },
                    output: output, jobId: ids[i], choice: new JobChoice(ids[0], i, 2))).Grain;
            }

            return jobs;
        }

        var reference = await Task.WhenAll((await SubmitChoicesAsync()).Select(SchedulingClusterFixture.FinishedAsync));
        Assert.NotEqual(reference[0].Output, reference[1].Output);

        var choices = await SubmitChoicesAsync();
        await SchedulingClusterFixture.UntilStreamingAsync(choices[0]);
        await SchedulingClusterFixture.UntilStreamingAsync(choices[1]);
        await SchedulingClusterFixture.FinishedAsync((await grid.SubmitAsync(interactive, maxTokens: 8)).Grain);

        var runs = new[] { await GridWait.ReadAllAsync(choices[0].WatchAsync(0)), await GridWait.ReadAllAsync(choices[1].WatchAsync(0)) };
        Assert.Contains(runs, events => events[^1].Job!.Preemptions > 0);
        for (var i = 0; i < 2; i++)
        {
            var info = runs[i][^1].Job!;
            Assert.Equal((reference[i].Output, reference[i].CompletionTokens), (info.Output, info.CompletionTokens));
            GridWait.AssertSequences(runs[i]);

            // The prompt is charged to choice 0 only, however often it was recomputed.
            var settlement = Assert.Single(grid.Settlements.For(info.Id));
            Assert.Equal((i == 0 ? 12 : 0, info.CompletionTokens), (settlement.PromptTokens, settlement.CompletionTokens));
            Assert.Equal((i == 0 ? 12 : 0) + info.CompletionTokens, info.ChargedTokens);
        }
    }

    [Fact]
    public async Task A_job_with_stop_sequences_is_preempted_too_and_still_ends_exactly_at_its_stop()
    {
        var batch = await grid.CreateTenantAsync(PriorityClass.Low, region: "west");
        var interactive = await grid.CreateTenantAsync(PriorityClass.High, region: "west");

        // A stop sequence taken from the greedy output, three quarters in: far past the point where the job is preempted.
        var (free, _) = await grid.SubmitAsync(batch, LongTokens, promptLength: 12);
        var text = (await SchedulingClusterFixture.FinishedAsync(free)).Output!;
        var stop = text.Substring(text.Length * 3 / 4, 5);
        var (alone, _) = await grid.SubmitAsync(batch, LongTokens, promptLength: 12, stop: [stop]);
        var reference = await SchedulingClusterFixture.FinishedAsync(alone);
        Assert.Equal(("stop", text[..text.IndexOf(stop, StringComparison.Ordinal)]), (reference.FinishReason, reference.Output));
        Assert.True(reference.CompletionTokens > 64, "the stop comes too early to be preempted before it");

        // The tiny model is fast: on a loaded machine both jobs may reach their stop before the interactive job is
        // placed. Such an attempt still checks every output, but a preemption must happen in one of three.
        for (var attempt = 1; ; attempt++)
        {
            var first = await grid.SubmitAsync(batch, LongTokens, promptLength: 12, stop: [stop]);
            var second = await grid.SubmitAsync(batch, LongTokens, promptLength: 12, stop: [stop]);
            await SchedulingClusterFixture.UntilStreamingAsync(first.Grain);
            await SchedulingClusterFixture.UntilStreamingAsync(second.Grain);
            var (urgent, _) = await grid.SubmitAsync(interactive, maxTokens: 8);
            Assert.Equal(JobStatus.Succeeded, (await SchedulingClusterFixture.FinishedAsync(urgent)).Status);

            var runs = new[] { await GridWait.ReadAllAsync(first.Grain.WatchAsync(0)), await GridWait.ReadAllAsync(second.Grain.WatchAsync(0)) };
            foreach (var events in runs)
            {
                // Every run, preempted or not, ends exactly at the stop, streams no gap, no duplicate and nothing past
                // it, and is charged once for what it delivered.
                var info = events[^1].Job!;
                Assert.Equal(JobStatus.Succeeded, info.Status);
                Assert.Equal((reference.Output, reference.FinishReason, reference.CompletionTokens), (info.Output, info.FinishReason, info.CompletionTokens));
                GridWait.AssertSequences(events);
                Assert.Equal(reference.Output, string.Concat(events.Where(e => e.Kind == JobEventKind.Tokens).Select(e => e.Text)));
                Assert.Equal(info.PromptTokens + info.CompletionTokens, info.ChargedTokens);
                Assert.Single(grid.Settlements.For(info.Id));
            }

            if (runs.Any(r => r[^1].Job!.Preemptions > 0))
            {
                return;
            }

            Assert.True(attempt < 3, "no job with stop sequences was preempted in three attempts");
        }
    }
}
