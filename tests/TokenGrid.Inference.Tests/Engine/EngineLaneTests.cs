using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Tests.DemoModel;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>
/// A batch split into lanes of similar length decodes what one lane does: every layout, rows moving between lanes as
/// sequences join, fork, finish and are cancelled, and finished rows cached from any lane.
/// </summary>
public sealed class EngineLaneTests
{
    /// <summary>Every further lane is worth its run: any saving splits.</summary>
    private static EngineOptions Lanes(bool throughRuntime = false, int prefixCacheTokens = 0) => new()
    {
        MaxDecodeLanes = 4,
        DecodeLaneSplitPositions = 0,
        PrefixCacheTokens = prefixCacheTokens,
        PrefixBlockTokens = 8,
        CopyCacheThroughRuntime = throughRuntime,
    };

    private static EngineOptions OneLane() => new() { MaxDecodeLanes = 1, PrefixCacheTokens = 0 };

    /// <summary>Prompts of 1 to 150 tokens with 6 to 40 tokens out: they join mid-stream and end at different steps.</summary>
    private static readonly (int[] Prompt, int MaxTokens)[] s_requests =
    [
        ([5, 9, 13], 40),
        ([.. Enumerable.Range(0, 150).Select(i => 10 + ((i * 7) % 900))], 24),
        ([7], 6),
        ([.. Enumerable.Range(0, 60).Select(i => 20 + ((i * 13) % 800))], 30),
        ([42, 43], 18),
        ([.. Enumerable.Range(0, 149).Select(i => 30 + ((i * 11) % 700))], 12),
        ([1, 2, 3, 4, 5, 6], 35),
    ];

    [Theory]
    [MemberData(nameof(DemoVariants.Names), MemberType = typeof(DemoVariants))]
    public async Task Rows_in_lanes_generate_what_one_lane_generates(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        await using var one = EngineRun.Start(spec, OneLane());
        var expected = await RunStaggeredAsync(one);
        var single = one.Engine.Statistics.Snapshot();
        Assert.Equal(single.DecodeSteps, single.DecodeRuns);

        await using var lanes = EngineRun.Start(spec, Lanes());
        Assert.Equal(expected, await RunStaggeredAsync(lanes));
        var split = lanes.Engine.Statistics.Snapshot();
        Assert.True(split.DecodeRuns > split.DecodeSteps, $"{split.DecodeRuns} runs in {split.DecodeSteps} steps: the batch never split");
    }

    [Theory]
    [InlineData("per-layer")]
    [InlineData("combined-f16-int32-no-position-ids")]
    public async Task Lanes_move_through_the_runtimes_copies_as_device_memory_requires(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        await using var one = EngineRun.Start(spec, OneLane());
        var expected = await RunStaggeredAsync(one);
        await using var lanes = EngineRun.Start(spec, Lanes(throughRuntime: true));
        Assert.Equal(expected, await RunStaggeredAsync(lanes));
        var split = lanes.Engine.Statistics.Snapshot();
        Assert.True(split.DecodeRuns > split.DecodeSteps);
    }

    [Fact]
    public async Task A_fork_from_a_row_in_another_lane_a_cancellation_and_a_cached_reply_keep_every_row_right()
    {
        var longPrompt = s_requests[1].Prompt;
        int[] Next(int[] reply) => [.. longPrompt, .. reply, 8, 9];

        // Expected: each request alone, one lane, no cache.
        await using var alone = EngineRun.Start(DemoModels.TinyLong, OneLane());
        var replyAlone = (await EngineRun.ReadAllAsync(alone.Submit(EngineRun.Greedy(longPrompt, 24)))).Tokens;
        var shortAlone = (await EngineRun.ReadAllAsync(alone.Submit(EngineRun.Greedy([5, 9, 13], 40)))).Tokens;
        var nextAlone = (await EngineRun.ReadAllAsync(alone.Submit(EngineRun.Greedy(Next(replyAlone), 10)))).Tokens;

        await using var run = EngineRun.Start(DemoModels.TinyLong, Lanes(prefixCacheTokens: 4096));
        var shortStream = run.Submit(EngineRun.Greedy([5, 9, 13], 40));
        await using var shortReader = shortStream.GetAsyncEnumerator();
        Assert.True(await shortReader.MoveNextAsync());

        // The long prompt joins the short row's batch: two lanes. Its fork joins from its running row in the long lane.
        // The row cancelled meanwhile asks for 8,000 tokens (the long-context variant): 200 ran out before the cancel came
        // on a fast machine, about one run in six.
        using var cancel = new CancellationTokenSource();
        var doomed = run.Submit(EngineRun.Greedy([77, 78], 8000), cancel.Token);
        var longStream = run.Submit(EngineRun.Greedy(longPrompt, 24) with { ForkKey = "long" });
        await using var longReader = longStream.GetAsyncEnumerator();
        Assert.True(await longReader.MoveNextAsync());
        var longTokens = new List<int> { longReader.Current.TokenId };
        var fork = EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(longPrompt, 24) with { ForkKey = "long" }));
        await cancel.CancelAsync();
        while (await longReader.MoveNextAsync())
        {
            longTokens.Add(longReader.Current.TokenId);
        }

        var shortTokens = new List<int> { shortReader.Current.TokenId };
        while (await shortReader.MoveNextAsync())
        {
            shortTokens.Add(shortReader.Current.TokenId);
        }

        Assert.Equal(replyAlone, longTokens);
        Assert.Equal(replyAlone, (await fork).Tokens);
        Assert.Equal(shortAlone, shortTokens);
        Assert.Equal(FinishReason.Cancelled, (await doomed.Completion).FinishReason);
        Assert.True(run.Engine.Statistics.Snapshot().ForkedSequences > 0, "the second choice did not fork");

        // The long row, cached as it finished from its lane, gives the next turn its prompt and reply.
        var next = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(Next(longTokens.ToArray()), 10)));
        Assert.Equal(nextAlone, next.Tokens);
        Assert.True(next.Result.CachedPromptTokens > longPrompt.Length, $"{next.Result.CachedPromptTokens} cached positions");
        var stats = run.Engine.Statistics.Snapshot();
        Assert.True(stats.DecodeRuns > stats.DecodeSteps, "the batch never split");
    }

    public static TheoryData<string, int, bool> RandomCases() => new()
    {
        { "per-layer", 1, false },
        { "combined", 2, false },
        { "grouped-query", 3, true },
        { "float16-kv", 4, false },
        { "merged-decoder", 5, false },
        { "combined-f16-int32-no-position-ids", 6, true },
    };

    /// <summary>
    /// A random workload (short prompts, long ones, shared bases that hit the prefix cache, forks, cancellations) in a
    /// batch of 12 with small prefill chunks, so rows join, fork and leave lanes all the time: every request generates
    /// what it generates alone in one lane, and a cancelled one a prefix of that.
    /// </summary>
    [Theory]
    [MemberData(nameof(RandomCases))]
    public async Task A_random_workload_in_lanes_generates_what_each_request_generates_alone(string variant, int seed, bool throughRuntime)
    {
        var spec = DemoVariants.Spec(variant);
        var random = new Random(seed);
        var bases = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, random.Next(8, 120)).Select(_ => random.Next(3, 999)).ToArray()).ToArray();
        var requests = new List<(int[] Prompt, int MaxTokens, string? Fork, bool Cancel)>();
        while (requests.Count < 40)
        {
            var kind = random.Next(4);
            int[] prompt = kind switch
            {
                0 => [.. Enumerable.Range(0, random.Next(1, 12)).Select(_ => random.Next(3, 999))],
                1 => [.. bases[random.Next(bases.Length)], .. Enumerable.Range(0, random.Next(0, 20)).Select(_ => random.Next(3, 999))],
                2 => bases[random.Next(bases.Length)],
                _ => [.. Enumerable.Range(0, random.Next(20, 150)).Select(_ => random.Next(3, 999))],
            };
            var fork = kind == 2 && random.Next(2) == 0 ? $"f{prompt.Length}" : null;
            requests.Add((prompt, random.Next(1, 40), fork, random.Next(10) == 0));
            for (var copies = fork is null ? 0 : random.Next(0, 3); copies > 0; copies--)
            {
                requests.Add((prompt, random.Next(1, 40), fork, false));
            }
        }

        await using var alone = EngineRun.Start(spec, OneLane());
        var expected = new List<int[]>();
        foreach (var (prompt, maxTokens, _, _) in requests)
        {
            expected.Add((await EngineRun.ReadAllAsync(alone.Submit(EngineRun.Greedy(prompt, maxTokens)))).Tokens);
        }

        var options = Lanes(throughRuntime, prefixCacheTokens: 4096);
        (options.MaxBatchSize, options.MaxQueueLength, options.PrefillChunkTokens) = (12, 1000, 64);
        await using var run = EngineRun.Start(spec, options);
        var results = new List<Task<(int[] Tokens, string Text, GenerationResult Result)>>();
        var cancels = new List<CancellationTokenSource>();
        for (var i = 0; i < requests.Count; i++)
        {
            var (prompt, maxTokens, fork, cancel) = requests[i];
            var source = new CancellationTokenSource();
            cancels.Add(source);
            var first = new TaskCompletionSource();
            results.Add(ReadAsync(run.Submit(EngineRun.Greedy(prompt, maxTokens) with { ForkKey = fork }, source.Token), first, cancel ? source : null));
            if (random.Next(3) == 0)
            {
                // Now and then the next request waits for this one's first token: it joins a running batch.
                await first.Task;
            }
        }

        var done = await Task.WhenAll(results);
        cancels.ForEach(c => c.Dispose());
        for (var i = 0; i < requests.Count; i++)
        {
            var (tokens, _, result) = done[i];
            Assert.True(
                result.FinishReason == FinishReason.Cancelled ? expected[i].AsSpan().StartsWith(tokens) : expected[i].SequenceEqual(tokens),
                $"request {i} (prompt of {requests[i].Prompt.Length}, fork {requests[i].Fork}, {result.FinishReason}): [{string.Join(",", tokens)}], alone [{string.Join(",", expected[i])}]");
        }

        var stats = run.Engine.Statistics.Snapshot();
        Assert.True(stats.DecodeRuns > stats.DecodeSteps, "the batch never split");
        Assert.True(stats.ForkedSequences > 0 && stats.PrefixCache!.Hits > 0, $"forks {stats.ForkedSequences}, prefix hits {stats.PrefixCache?.Hits}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task After_a_failed_step_in_lanes_the_engine_serves_new_requests_right(bool throughRuntime)
    {
        var longPrompt = s_requests[1].Prompt;
        await using var alone = EngineRun.Start(DemoModels.TinyLong, OneLane());
        var shortAlone = (await EngineRun.ReadAllAsync(alone.Submit(EngineRun.Greedy([5, 9, 13], 400)))).Tokens;
        var longAlone = (await EngineRun.ReadAllAsync(alone.Submit(EngineRun.Greedy(longPrompt, 30)))).Tokens;

        await using var run = EngineRun.Start(DemoModels.TinyLong, Lanes(throughRuntime, prefixCacheTokens: 4096));
        var a = run.Submit(EngineRun.Greedy([5, 9, 13], 4000));
        await using var readA = a.GetAsyncEnumerator();
        Assert.True(await readA.MoveNextAsync());
        var b = run.Submit(EngineRun.Greedy(longPrompt, 4000));
        await using var readB = b.GetAsyncEnumerator();
        Assert.True(await readB.MoveNextAsync());

        // B's second token comes from a decode step: both rows decode, in two lanes; then ONNX Runtime fails the runs.
        Assert.True(await readB.MoveNextAsync());
        Assert.Equal(2, run.Engine.Runner.Cache.Lanes.Count);
        run.Engine.Runner.RunOptions.Terminate = true;
        while (await readA.MoveNextAsync())
        {
        }

        while (await readB.MoveNextAsync())
        {
        }

        Assert.Equal(FinishReason.Failed, (await a.Completion).FinishReason);
        Assert.Equal(FinishReason.Failed, (await b.Completion).FinishReason);
        run.Engine.Runner.RunOptions.Terminate = false;

        var again = run.Submit(EngineRun.Greedy([5, 9, 13], 400));
        await using var readAgain = again.GetAsyncEnumerator();
        Assert.True(await readAgain.MoveNextAsync());
        var tokens = new List<int> { readAgain.Current.TokenId };
        var longAgain = EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(longPrompt, 30)));
        while (await readAgain.MoveNextAsync())
        {
            tokens.Add(readAgain.Current.TokenId);
        }

        Assert.Equal(shortAlone, tokens);
        Assert.Equal(longAlone, (await longAgain).Tokens);
        var stats = run.Engine.Statistics.Snapshot();
        Assert.True(stats.DecodeRuns > stats.DecodeSteps, "the batch never split");
    }

    [Theory]
    [InlineData("per-layer")]
    [InlineData("inline-weights")]
    [InlineData("multi-query-combined")]
    public async Task Unset_the_split_is_the_weights_over_five_times_a_positions_bytes(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        var directory = DemoModels.Get(spec);
        await using var run = EngineRun.Start(directory);

        // The graph file and its external data beside it (none when the weights are inside it), nothing else of the folder.
        var files = Directory.GetFiles(directory, "model.onnx*");
        Assert.Equal(spec.ExternalData ? 2 : 1, files.Length);
        Assert.Equal(files.Sum(f => new FileInfo(f).Length), run.Model.WeightBytes);

        // Keys and values of every layer, per position: layers × 2 × key/value heads × head size × 4 bytes.
        var perPosition = (long)spec.Layers * 2 * (spec.KvHeads == 0 ? spec.Heads : spec.KvHeads) * (spec.HiddenSize / spec.Heads) * 4;
        Assert.Equal(Math.Max(256, run.Model.WeightBytes / (5 * perPosition)), run.Engine.LaneSplitPositions);

        await using var set = EngineRun.Start(directory, new EngineOptions { DecodeLaneSplitPositions = 1234 });
        Assert.Equal(1234, set.Engine.LaneSplitPositions);
    }

    /// <summary>
    /// Submits the requests one after another, each once the one before has its first token (so they join a running
    /// batch), and returns every request's tokens.
    /// </summary>
    private static async Task<int[][]> RunStaggeredAsync(EngineRun run)
    {
        var results = new List<Task<(int[] Tokens, string Text, GenerationResult Result)>>();
        foreach (var (prompt, maxTokens) in s_requests)
        {
            var stream = run.Submit(EngineRun.Greedy(prompt, maxTokens));
            var first = new TaskCompletionSource();
            results.Add(ReadAsync(stream, first));
            await first.Task;
        }

        return [.. (await Task.WhenAll(results)).Select(r => r.Tokens)];
    }

    /// <summary>Reads a stream to its end, signalling its first token; <paramref name="cancel"/>, when given, is cancelled after it.</summary>
    private static async Task<(int[] Tokens, string Text, GenerationResult Result)> ReadAsync(
        GenerationStream stream, TaskCompletionSource first, CancellationTokenSource? cancel = null)
    {
        var tokens = new List<int>();
        await foreach (var token in stream)
        {
            tokens.Add(token.TokenId);
            first.TrySetResult();
            if (cancel is not null)
            {
                await cancel.CancelAsync();
            }
        }

        first.TrySetResult();
        return ([.. tokens], "", await stream.Completion);
    }
}
