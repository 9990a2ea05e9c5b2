using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Models;

/// <summary>
/// The models this silo serves, each read once when the catalog is created (the demo model is built first when
/// needed): its configuration, tokenizer and memory estimate. The model is opened on the CPU only to read and check
/// that metadata and closed again, so the catalog holds no weights: the nodes load their own sessions on demand and
/// account for them (see <see cref="Nodes.NodeModels"/>). The HTTP layer uses it to validate model names, tokenize
/// prompts, render chat templates and cap <c>max_tokens</c>. Singleton.
/// </summary>
public sealed partial class ModelCatalog
{
    private readonly Dictionary<string, CatalogModel> _byName;

    /// <summary>Reads every configured model; throws when one cannot be loaded.</summary>
    public ModelCatalog(IOptions<ModelCatalogOptions> options, ILogger<ModelCatalog> logger)
    {
        var settings = options.Value;
        var models = new List<CatalogModel>(settings.Entries.Count);
        foreach (var entry in settings.Entries)
        {
            var directory = entry.IsDemo
                ? DemoModelBuilder.EnsureBuilt(settings.DemoCacheRoot ?? DemoModelBuilder.DefaultCacheRoot, settings.DemoSpec ?? DemoModelSpec.Default)
                : entry.Directory!;
            using var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu, IntraOpThreads = 1 });
            var served = new CatalogModel(entry.Name, model);
            models.Add(served);
            LogLoaded(logger, entry.Name, directory, served.ContextLength, served.Config.VocabSize, ModelMemory.Format(served.WeightBytes));
        }

        Models = models;
        _byName = models.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    /// <summary>The served models, in configuration order.</summary>
    public IReadOnlyList<CatalogModel> Models { get; }

    /// <summary>Finds a model by the name clients use (case-sensitive).</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out CatalogModel? model) => _byName.TryGetValue(name, out model);
}
