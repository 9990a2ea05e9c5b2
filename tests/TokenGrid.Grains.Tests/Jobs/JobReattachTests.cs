using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>
/// A watcher re-attaching after a failover gets exactly the events it is missing, even when the job's grain died with a
/// checkpoint behind what the watcher saw, so that the new activation produces part of the text again.
/// </summary>
[Collection(GridCollection.Name)]
public sealed class JobReattachTests(GridClusterFixture grid)
{
    private const string Prompt = "The token office opened its doors and";

    /// <remarks>
    /// The grain's death is played from storage: the job runs to its end under a watcher, then its saved state is put back
    /// to a checkpoint taken a third of the way in (the token ids, stream position and sequence it had then, as a
    /// checkpoint holds them) and the activation is dropped. The watcher, which saw two thirds, re-attaches with the id of
    /// its last event; the next activation resumes from the checkpoint and produces the middle third again. A sampled job
    /// without a seed used to draw a new seed per run, so that middle third came out different: the watcher was sent text
    /// that does not continue what it had, and the job's output no longer matched what was streamed.
    /// </remarks>
    [Fact]
    public async Task A_sampled_job_resumed_from_a_checkpoint_behind_its_watcher_sends_it_exactly_the_missing_text()
    {
        var tenant = await grid.CreateTenantAsync();
        var job = grid.NewJob();
        var spec = grid.Spec(tenant, Prompt, maxTokens: 120) with
        {
            Sampling = new JobSampling(Temperature: 1f),
            Output = JobOutputOptions.None with { TopLogprobs = 0, IgnoreEndOfSequence = true },
        };
        await job.SubmitAsync(spec);
        var live = await GridWait.ReadAllAsync(job.WatchAsync(0));
        var first = live[^1].Job!;
        Assert.Equal((JobStatus.Succeeded, spec.MaxTokens), (first.Status, first.CompletionTokens));

        // The checkpoint: the first events holding a third of the tokens.
        var tokenEvents = live.Where(e => e.Kind == JobEventKind.Tokens).ToList();
        var checkpointAt = CountUntil(tokenEvents, spec.MaxTokens / 3);
        var checkpointTokens = tokenEvents.Take(checkpointAt + 1).Sum(e => e.Tokens);
        await grid.RewindToCheckpointAsync(job, first, checkpointTokens, tokenEvents[checkpointAt]);

        // The watcher saw two thirds; it re-attaches with the id of the last event it received.
        var watcherLast = tokenEvents[CountUntil(tokenEvents, 2 * spec.MaxTokens / 3)];
        var seen = string.Concat(live.TakeWhile(e => e != watcherLast).Append(watcherLast).Select(e => e.Text));
        var rest = await GridWait.ReadAllAsync(job.WatchAsync(watcherLast.Sequence));

        Assert.All(rest, e => Assert.True(e.Sequence > watcherLast.Sequence, $"Event {e.Sequence} replays what came before {watcherLast.Sequence}."));
        GridWait.AssertSequences([watcherLast with { Text = seen }, .. rest]);
        var final = rest[^1].Job!;
        Assert.Equal((JobStatus.Succeeded, spec.MaxTokens), (final.Status, final.CompletionTokens));
        Assert.Equal(first.Output, final.Output);
        Assert.Equal(first.Output, seen + string.Concat(rest.Select(e => e.Text)));

        // A watcher that counts its tokens, as the server's own re-attaching follower does, is also sent exactly the
        // tokens and log probabilities it lacks, in order: the checkpoint's text came back as one event, which this
        // watcher is in the middle of, and the middle third was cut into events anew.
        var received = tokenEvents.TakeWhile(e => e != watcherLast).Append(watcherLast).ToList();
        var seenTokens = received.Sum(e => e.Tokens);
        var counted = await GridWait.ReadAllAsync(job.WatchAsync(watcherLast.Sequence, seenTokens));
        Assert.Equal(first.Output, seen + string.Concat(counted.Select(e => e.Text)));
        Assert.Equal(spec.MaxTokens, seenTokens + counted.Sum(e => e.Tokens));
        var logprobs = received.Concat(counted).Where(e => e.Tokens > 0).SelectMany(e => e.Logprobs!).ToList();
        var liveLogprobs = tokenEvents.SelectMany(e => e.Logprobs!).ToList();
        Assert.Equal(liveLogprobs.Select(l => l.TokenId), logprobs.Select(l => l.TokenId));
        // A recomputed prefix may round differently from the step-by-step run in the last bits.
        Assert.All(liveLogprobs.Zip(logprobs), p => Assert.Equal(p.First.Logprob, p.Second.Logprob, 3));

        // Settling again after the resumed run is idempotent at the tenant: the job is charged once.
        Assert.Single(await grid.LedgerAsync(tenant, first.Id), e => e.Kind == LedgerEntryKind.Charge);
    }

    /// <summary>
    /// A job read back from storage (as a job reactivated after a failover is) keeps its own output options and leaves
    /// the shared default alone: storage once filled the default instance with the stored job's options (log probabilities,
    /// ignore_eos), and every later job of the process asked for them.
    /// </summary>
    [Fact]
    public async Task Reading_a_job_back_from_storage_leaves_the_shared_default_output_options_alone()
    {
        var services = grid.Cluster.GetSiloServiceProvider();
        var spec = new JobSpec
        {
            TenantId = "t", Model = "m", PromptTokens = [1], MaxTokens = 1,
            Output = new JobOutputOptions(MinTokens: 3, TopLogprobs: 0, IgnoreEndOfSequence: true),
        };
        var grainId = grid.NewJob().GetGrainId();
        foreach (var storage in new[] { services.GetRequiredKeyedService<IGrainStorage>(TokenGridStorage.Name), new InProcessGrainStorage(services.GetRequiredService<Orleans.Serialization.Serializer>()) })
        {
            await storage.WriteStateAsync("job", grainId, new GrainState<JobState>(new JobState { Spec = spec }));
            var read = new GrainState<JobState>();
            await storage.ReadStateAsync("job", grainId, read);

            Assert.Equal(spec.Output, read.State!.Spec!.Output);
            Assert.Equal(new JobOutputOptions(), JobOutputOptions.None);
        }
    }

    /// <summary>Index of the token event by which at least <paramref name="tokens"/> tokens were streamed.</summary>
    private static int CountUntil(List<JobEvent> tokenEvents, int tokens)
    {
        var sum = 0;
        for (var i = 0; i < tokenEvents.Count; i++)
        {
            sum += tokenEvents[i].Tokens;
            if (sum >= tokens)
            {
                return i;
            }
        }

        throw new InvalidOperationException($"The job streamed fewer than {tokens} tokens.");
    }
}
