using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Inference.Tests.Support;

/// <summary>A demo model loaded on the CPU with an engine over it, for one test.</summary>
public sealed class EngineRun : IAsyncDisposable
{
    private EngineRun(DecoderModel model, InferenceEngine engine)
    {
        Model = model;
        Engine = engine;
    }

    public DecoderModel Model { get; }

    public InferenceEngine Engine { get; }

    public static EngineRun Start(DemoModelSpec spec, EngineOptions? options = null) => Start(DemoModels.Get(spec), options);

    /// <summary>
    /// A model directory loaded on the CPU (with <paramref name="load"/>'s other settings when given), with an engine over
    /// it that logs to <paramref name="logger"/> when given.
    /// </summary>
    public static EngineRun Start(
        string directory, EngineOptions? options = null, Microsoft.Extensions.Logging.ILogger<InferenceEngine>? logger = null, ModelLoadOptions? load = null)
    {
        var model = DecoderModel.Load(directory, (load ?? new ModelLoadOptions()) with { ExecutionProvider = ExecutionProviderPreference.Cpu });
        return new EngineRun(model, new InferenceEngine(model, options, logger));
    }

    /// <summary>Submits a request that must be accepted and returns its stream.</summary>
    public GenerationStream Submit(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        var submitted = Engine.Submit(request, cancellationToken);
        Assert.True(submitted.Status == SubmitStatus.Accepted, $"{submitted.Status}: {submitted.Error}");
        return submitted.Stream!;
    }

    /// <summary>Greedy generation of exactly <paramref name="maxTokens"/> tokens (end of sequence ignored).</summary>
    public static GenerationRequest Greedy(IReadOnlyList<int> prompt, int maxTokens) =>
        new() { PromptTokens = prompt, MaxTokens = maxTokens, IgnoreEndOfSequence = true };

    /// <summary>Reads a stream to its end: the ids streamed and the result.</summary>
    public static async Task<(int[] Tokens, string Text, GenerationResult Result)> ReadAllAsync(GenerationStream stream)
    {
        var tokens = new List<int>();
        var text = new System.Text.StringBuilder();
        await foreach (var token in stream)
        {
            tokens.Add(token.TokenId);
            text.Append(token.Text);
        }

        return ([.. tokens], text.ToString(), await stream.Completion);
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        Model.Dispose();
    }
}
