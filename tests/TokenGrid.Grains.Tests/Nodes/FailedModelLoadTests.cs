using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Tests.Support;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Tests.Nodes;

/// <summary>
/// A node whose load of a model fails (here: its folder lost its weights after the catalog read it) stops advertising
/// the model, so dispatchers place nothing more there for it, and says why; a job placed there meanwhile is refused at
/// once without another load; it loads the model again after <c>FailedLoadRetry</c>, and advertises it once that load
/// succeeds.
/// </summary>
public sealed class FailedModelLoadTests : IDisposable
{
    private static readonly ModelLoadOptions s_load = new() { ExecutionProvider = ExecutionProviderPreference.Cpu, IntraOpThreads = 1 };
    private readonly TemporaryModelCache _cache = new("failed-load");

    [Fact]
    public async Task A_failed_load_is_recorded_until_a_retry_after_the_period_loads_the_model()
    {
        var folder = _cache.Build(new DemoModelSpec { Layers = 1, HiddenSize = 32, Heads = 2, ContextLength = 64, VocabSize = 1000, Seed = 7 });
        CatalogModel catalog;
        using (var model = DecoderModel.Load(folder, s_load))
        {
            catalog = new CatalogModel("demo", model);
        }

        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero));
        await using var models = new NodeModels(
            "s/cpu0", [catalog], budgetBytes: 0, maxBatchSize: 2, prefixCache: (0, 16), ExecutionProviderKind.Cpu, kvCacheLimitBytes: 0,
            (m, _) =>
            {
                var decoder = DecoderModel.Load(m.Directory, s_load with { ModelFile = m.ModelPath });
                return (decoder, new InferenceEngine(decoder, time: time));
            },
            NullLogger.Instance, time);

        // The weights are gone (a volume remounted, a folder half-copied): the load fails, and the node records it.
        var weights = Directory.GetFiles(folder, "*.onnx*").ToDictionary(f => f, f => f + ".away");
        foreach (var (file, away) in weights)
        {
            File.Move(file, away);
        }

        var (lease, refusal) = await models.AcquireAsync("demo");
        Assert.Null(lease);
        Assert.Contains("could not load model 'demo'", refusal, StringComparison.Ordinal);
        var failed = Assert.Single(models.Failed);
        Assert.Equal(("demo", time.GetUtcNow(), 1), (failed.Key, failed.Value.At, failed.Value.Attempts));
        Assert.False(string.IsNullOrWhiteSpace(failed.Value.Reason));

        // A job a dispatcher placed here before it saw the node's report is refused at once, with the reason, and the
        // broken files are not read again for it.
        time.Advance(TimeSpan.FromSeconds(1));
        (lease, refusal) = await models.AcquireAsync("demo");
        Assert.Null(lease);
        Assert.Contains("could not load model 'demo'", refusal, StringComparison.Ordinal);
        Assert.Contains(failed.Value.Reason, refusal, StringComparison.Ordinal);
        Assert.Equal(1, Assert.Single(models.Failed).Value.Attempts);

        // Before the retry period nothing is tried; the files come back meanwhile.
        time.Advance(TimeSpan.FromSeconds(30));
        models.RetryFailed(TimeSpan.FromMinutes(1));
        Assert.Equal(0, models.Loads);
        foreach (var (file, away) in weights)
        {
            File.Move(away, file);
        }

        // After it, the node loads the model on its own; once loaded it no longer counts as failed.
        time.Advance(TimeSpan.FromSeconds(31));
        models.RetryFailed(TimeSpan.FromMinutes(1));
        (lease, refusal) = await models.AcquireAsync("demo");
        Assert.Null(refusal);
        lease!.Release();
        Assert.Empty(models.Failed);
        Assert.Equal(1, models.Loads);
    }

    public void Dispose() => _cache.Dispose();
}
