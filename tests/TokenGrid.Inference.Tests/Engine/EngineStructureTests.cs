using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>
/// What the README claims of the decode loop, checked by structure rather than by time: a long prompt prefilled in
/// chunks never stalls the running batch (a decode step follows every chunk), and the key/value cache is not
/// reallocated per step (its buffers grow geometrically and are otherwise reused).
/// </summary>
public sealed class EngineStructureTests
{
    [Fact]
    public async Task While_a_long_prompt_is_prefilled_in_chunks_the_running_sequence_gets_a_token_every_step()
    {
        const int chunk = 16;
        const int chunks = 10;
        var probe = new StepProbe();
        using var model = DecoderModel.Load(DemoModels.Get(DemoModels.TinyLong), new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu });
        await using var engine = new InferenceEngine(model, new EngineOptions { MaxBatchSize = 2, PrefillChunkTokens = chunk }, time: probe);
        probe.Engine = engine;

        // A decodes (thousands of tokens to go, so it is still running when B is done); then B's prompt of ten chunks comes.
        using var stopRunning = new CancellationTokenSource();
        var running = engine.Submit(EngineRun.Greedy([5, 9, 13], 6000), stopRunning.Token).Stream!;
        await using var reader = running.GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());
        var before = engine.Statistics.Snapshot();
        var (_, _, longPrompt) = await EngineRun.ReadAllAsync(
            engine.Submit(EngineRun.Greedy([.. Enumerable.Range(0, chunk * chunks).Select(i => 10 + (i % 900))], 1)).Stream!);
        await stopRunning.CancelAsync();

        // B ended with its prefill (its one token is sampled there): the engine's counters as it ended.
        Assert.Equal((1, FinishReason.Length), (longPrompt.CompletionTokens, longPrompt.FinishReason));
        var atEnd = probe.FirstWhere(s => s.Completed > before.Completed);
        var prefilled = atEnd.PrefillRuns - before.PrefillRuns;
        var steps = atEnd.DecodeSteps - before.DecodeSteps;
        Assert.InRange(prefilled, chunks - 1, chunks);

        // A decode step of the running sequence after every chunk (a loop that prefilled the whole prompt first would
        // show none), each with A alone in the batch: B joined no step before its prefill was done.
        Assert.True(steps >= chunks - 2, $"{steps} decode steps while {prefilled} prefill chunks ran.");
        Assert.Equal(steps, atEnd.BatchedSequences - before.BatchedSequences);
    }

    [Fact]
    public void The_cache_buffers_grow_geometrically_and_are_reused_by_every_other_step()
    {
        using var model = DecoderModel.Load(DemoModels.Get(DemoModels.Tiny), new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu });
        using var runner = new DecoderRunner(model);
        int[] prompt = [5, 9, 13];
        RunnerInputs.Prefill(runner, prompt);

        var empty = runner.EmptyPast(1);
        var presents = runner.RunPrefill(1, prompt.Length, prompt.Length, empty, logitsToHost: true);
        runner.Cache.Relayout([new RowSource(true, 0, prompt.Length)], [.. presents.Skip(1)], 1, prompt.Length);
        DecoderRunner.DisposeAll(empty);
        DecoderRunner.DisposeAll(presents);

        // 240 decode steps of one row: the cache grows from 3 to 243 positions.
        var steps = 240;
        var stepsThatAllocated = 0;
        var buffers = Addresses(runner);
        for (var step = 0; step < steps; step++)
        {
            var length = runner.Cache.Length;
            var allocations = runner.Cache.Allocations;
            RunnerInputs.Decode(runner, 7 + step, length);

            runner.RunDecode();
            var now = Addresses(runner);
            if (runner.Cache.Allocations > allocations)
            {
                stepsThatAllocated++;
            }
            else
            {
                // Ping-pong: the same memory, front and back swapped.
                Assert.Equal(buffers, now);
            }

            buffers = now;
        }

        // Doubling from 3 positions to 243 takes 7 growths of the front buffers and 7 of the back ones (they take turns),
        // a few dozen steps apart: not one per step.
        Assert.InRange(stepsThatAllocated, 1, 2 * ((int)Math.Ceiling(Math.Log2(steps)) + 1));
    }

    private static HashSet<nint> Addresses(DecoderRunner runner) => [.. runner.Cache.Pointers];

    /// <summary>A clock that records the engine's counters each time the decode loop reads it: a log of its steps in order.</summary>
    private sealed class StepProbe : TimeProvider
    {
        private readonly List<EngineSnapshot> _seen = [];

        public InferenceEngine? Engine { get; set; }

        public override long GetTimestamp()
        {
            if (Engine is { } engine)
            {
                lock (_seen)
                {
                    _seen.Add(engine.Statistics.Snapshot());
                }
            }

            return base.GetTimestamp();
        }

        public EngineSnapshot FirstWhere(Func<EngineSnapshot, bool> match)
        {
            lock (_seen)
            {
                return _seen.First(match);
            }
        }
    }
}
