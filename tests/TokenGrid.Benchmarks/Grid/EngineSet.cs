using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;

namespace TokenGrid.Benchmarks.Grid;

/// <summary>
/// The engine-alone side of the small-vocabulary comparison: one engine, or one per core (each with its own session,
/// its share of the batch and, with one intra-op thread, a core of its own), as a grid node with as many CPU devices
/// runs them. Each of the benchmark's prompts, that is each client, keeps to one engine, so the engines get equal
/// shares of the clients, as the grid's dispatcher gives its devices equal shares of the slots.
/// </summary>
internal sealed class EngineSet : IAsyncDisposable
{
    private readonly List<DecoderModel> _models = [];
    private readonly List<InferenceEngine> _engines = [];
    private readonly Dictionary<int[], InferenceEngine> _byPrompt = new(ReferenceEqualityComparer.Instance);

    private EngineSet()
    {
    }

    /// <summary>The engines; the first is the one a single-engine comparison uses.</summary>
    public IReadOnlyList<InferenceEngine> Engines => _engines;

    /// <summary>Each engine's statistics.</summary>
    public IReadOnlyList<EngineStatistics> Statistics => [.. _engines.Select(e => e.Statistics)];

    /// <summary>The first engine's model (all load the same folder).</summary>
    public DecoderModel Model => _models[0];

    /// <summary>Loads <paramref name="directory"/> <paramref name="count"/> times, each engine taking <paramref name="maxBatch"/> sequences.</summary>
    public static EngineSet Load(string directory, ModelLoadOptions load, int count, int maxBatch, int promptLength)
    {
        var set = new EngineSet();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var model = DecoderModel.Load(directory, load);
                set._models.Add(model);
                set._engines.Add(new InferenceEngine(model, new EngineOptions { MaxBatchSize = maxBatch, PrefillChunkTokens = maxBatch * promptLength }));
            }

            return set;
        }
        catch
        {
            set.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>Assigns the prompts (the clients) to the engines in turn.</summary>
    public void Assign(IReadOnlyList<int[]> prompts)
    {
        for (var i = 0; i < prompts.Count; i++)
        {
            _byPrompt[prompts[i]] = _engines[i % _engines.Count];
        }
    }

    /// <summary>One request per prompt, all at once, each on its engine; returns the completion tokens.</summary>
    public async Task<long> RunAsync(IReadOnlyList<int[]> prompts, int newTokens)
    {
        var results = await Task.WhenAll(prompts.Select(p =>
            (_byPrompt.GetValueOrDefault(p) ?? _engines[0]).Submit(new GenerationRequest { PromptTokens = p, MaxTokens = newTokens }).Stream?.Completion
            ?? throw new InvalidOperationException("The engine refused a benchmark request.")));
        return results.Sum(r => (long)r.CompletionTokens);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var engine in _engines)
        {
            await engine.DisposeAsync();
        }

        foreach (var model in _models)
        {
            model.Dispose();
        }
    }
}
