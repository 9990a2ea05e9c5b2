using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Tests.Support;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Tests.Nodes;

/// <summary>
/// A model folder changed under a running silo: its nodes load the files the catalog read at start, and refuse the
/// folder once it holds other ones, rather than run new weights under the old tokenizer and limits.
/// </summary>
public sealed class ChangedModelFolderTests : IDisposable
{
    private readonly TemporaryModelCache _cache = new("changed-folder");

    [Fact]
    public void A_folder_changed_after_the_catalog_read_it_is_refused_naming_both_fingerprints()
    {
        var folder = _cache.Build(new DemoModelSpec { Layers = 1, HiddenSize = 32, Heads = 2, ContextLength = 64, VocabSize = 1000, Seed = 5 });
        CatalogModel catalog;
        using (var model = DecoderModel.Load(folder, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu, IntraOpThreads = 1 }))
        {
            catalog = new CatalogModel("demo", model);
        }

        NodeRuntime.EnsureUnchanged(catalog);

        // A new version copied over the old one (here: its configuration rewritten).
        File.AppendAllText(Path.Combine(folder, "genai_config.json"), "\n");
        var refused = Assert.Throws<InvalidModelException>(() => NodeRuntime.EnsureUnchanged(catalog));

        Assert.Contains($"changed after the silo read them (fingerprint {catalog.Fingerprint} then, fp_", refused.Message);
        Assert.Contains("restart the silo", refused.Message);
    }

    public void Dispose() => _cache.Dispose();
}
