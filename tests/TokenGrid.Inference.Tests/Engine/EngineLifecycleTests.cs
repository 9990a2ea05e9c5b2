using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Sampling;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>Admission, cancellation, limits and usage.</summary>
public sealed class EngineLifecycleTests
{
    [Fact]
    public async Task Cancelling_a_running_sequence_frees_its_slot_for_the_next_one()
    {
        await using var run = EngineRun.Start(DemoModels.TinyLong, new EngineOptions { MaxBatchSize = 1, MaxQueueLength = 1 });
        using var cancel = new CancellationTokenSource();
        var running = run.Submit(EngineRun.Greedy([1, 2, 3], 8000), cancel.Token);
        await using var reader = running.GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());

        var waiting = run.Submit(EngineRun.Greedy([4, 5], 3));
        var refused = run.Engine.Submit(EngineRun.Greedy([6], 3));
        Assert.Equal(SubmitStatus.Busy, refused.Status);
        Assert.Contains("full", refused.Error);

        cancel.Cancel();
        var received = 1;
        while (await reader.MoveNextAsync())
        {
            received++;
        }

        var cancelled = await running.Completion;
        Assert.Equal(FinishReason.Cancelled, cancelled.FinishReason);
        Assert.Equal(received, cancelled.CompletionTokens);
        Assert.True(cancelled.CompletionTokens < 8000);

        var next = await EngineRun.ReadAllAsync(waiting);
        Assert.Equal(FinishReason.Length, next.Result.FinishReason);
        Assert.Equal(3, next.Result.CompletionTokens);
        Assert.Equal(1, run.Engine.Statistics.Snapshot().RejectedBusy);
    }

    [Fact]
    public async Task Cancelling_a_queued_sequence_ends_it_without_tokens_and_frees_its_queue_place()
    {
        await using var run = EngineRun.Start(DemoModels.TinyLong, new EngineOptions { MaxBatchSize = 1, MaxQueueLength = 1 });
        using var stopRunning = new CancellationTokenSource();
        var running = run.Submit(EngineRun.Greedy([1, 2, 3], 8000), stopRunning.Token);
        await using var reader = running.GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());

        using var cancelQueued = new CancellationTokenSource();
        var queued = run.Submit(EngineRun.Greedy([4, 5], 3), cancelQueued.Token);
        cancelQueued.Cancel();
        var result = await queued.Completion;
        Assert.Equal(FinishReason.Cancelled, result.FinishReason);
        Assert.Equal(0, result.CompletionTokens);
        Assert.Equal(SubmitStatus.Accepted, run.Engine.Submit(EngineRun.Greedy([6], 1)).Status);
        stopRunning.Cancel();
    }

    [Fact]
    public async Task Max_tokens_ends_the_sequence_with_length_and_is_capped_by_the_context()
    {
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var (tokens, _, result) = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy([1, 2, 3], 7)));
        Assert.Equal(7, tokens.Length);
        Assert.Equal((FinishReason.Length, 3, 7), (result.FinishReason, result.PromptTokens, result.CompletionTokens));

        var nearlyFull = Enumerable.Range(1, DemoModels.Tiny.ContextLength - 4).ToArray();
        var capped = run.Submit(EngineRun.Greedy(nearlyFull, 100));
        Assert.Equal(4, capped.MaxTokens);
        Assert.Equal(4, (await EngineRun.ReadAllAsync(capped)).Result.CompletionTokens);
    }

    [Fact]
    public async Task A_stop_sequence_ends_the_output_before_it()
    {
        await using var run = EngineRun.Start(DemoModels.Small);
        var prompt = run.Model.Tokenizer.Encode("The token office opened its doors and");
        var free = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 24)));
        var stop = free.Text.Substring(free.Text.Length / 2, 3);
        var stopAt = free.Text.IndexOf(stop, StringComparison.Ordinal);

        var stopped = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 24) with { StopSequences = [stop] }));
        Assert.Equal(FinishReason.Stop, stopped.Result.FinishReason);
        Assert.Equal(free.Text[..stopAt], stopped.Result.Text);
        Assert.Equal(stopped.Text, stopped.Result.Text);
        Assert.True(stopped.Result.CompletionTokens < 24);
        Assert.Equal(free.Tokens.Take(stopped.Result.CompletionTokens), stopped.Tokens);
    }

    [Fact]
    public async Task Usage_counts_match_the_tokenizer()
    {
        await using var run = EngineRun.Start(DemoModels.Small);
        const string prompt = "Metering you can audit: every token counted once.";
        var request = new GenerationRequest
        {
            PromptTokens = run.Model.Tokenizer.Encode(prompt),
            MaxTokens = 20,
            IgnoreEndOfSequence = true,
            Sampling = new SamplingOptions { Temperature = 0.8f, TopP = 0.9f, Seed = 7 },
        };
        var (tokens, text, result) = await EngineRun.ReadAllAsync(run.Submit(request));
        Assert.Equal(run.Model.Tokenizer.CountTokens(prompt), result.PromptTokens);
        Assert.Equal(tokens.Length, result.CompletionTokens);
        Assert.Equal(run.Model.Tokenizer.Decode(tokens), result.Text);
        Assert.Equal(text, result.Text);
        Assert.NotNull(result.TimeToFirstToken);

        var again = await EngineRun.ReadAllAsync(run.Submit(request));
        Assert.Equal(tokens, again.Tokens);
    }

    [Fact]
    public async Task Requests_the_model_cannot_run_are_refused_with_a_reason()
    {
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var outside = run.Engine.Submit(EngineRun.Greedy(run.Model.Tokenizer.Encode("tokenizer vocabulary beyond the model"), 4));
        Assert.Equal(SubmitStatus.Invalid, outside.Status);
        Assert.Contains("outside the vocabulary", outside.Error);

        Assert.Equal(SubmitStatus.Invalid, run.Engine.Submit(EngineRun.Greedy([], 4)).Status);
        Assert.Equal(SubmitStatus.Invalid, run.Engine.Submit(EngineRun.Greedy(Enumerable.Range(1, 256).ToArray(), 4)).Status);
        Assert.Equal(SubmitStatus.Invalid, run.Engine.Submit(EngineRun.Greedy([1], 0)).Status);
    }

    [Fact]
    public async Task A_stopped_engine_refuses_new_work_and_drains_what_it_accepted()
    {
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var accepted = run.Submit(EngineRun.Greedy([1, 2], 5));
        await run.Engine.StopAsync(drain: true);
        Assert.Equal(5, (await accepted.Completion).CompletionTokens);
        Assert.Equal(SubmitStatus.Stopped, run.Engine.Submit(EngineRun.Greedy([1], 1)).Status);
    }

    [Fact]
    public void Auto_falls_back_to_the_cpu_and_says_why_while_cuda_fails_clearly()
    {
        var directory = DemoModels.Get(DemoModels.Tiny);
        using var auto = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Auto });
        if (auto.Provider == ExecutionProviderKind.Cuda)
        {
            Assert.Null(auto.ProviderFallbackReason);
            return;
        }

        Assert.Equal(ExecutionProviderKind.Cpu, auto.Provider);
        Assert.Contains("CUDA unavailable", auto.ProviderFallbackReason);
        var e = Assert.Throws<ExecutionProviderUnavailableException>(
            () => DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cuda }));
        Assert.Contains("CUDA execution provider was required", e.Message);
    }
}
