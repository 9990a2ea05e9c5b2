using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Models;

/// <summary>
/// The models this silo serves, each loaded once on the CPU when the catalog is created (the demo model is built
/// first when needed). The HTTP layer uses it to validate model names, tokenize prompts, render chat templates and
/// cap <c>max_tokens</c>; node CPU devices run the loaded models. Singleton; owns and disposes the models.
/// </summary>
public sealed partial class ModelCatalog : IDisposable
{
    private readonly Dictionary<string, CatalogModel> _byName;

    /// <summary>Loads every configured model; throws when one cannot be loaded.</summary>
    public ModelCatalog(IOptions<ModelCatalogOptions> options, ILogger<ModelCatalog> logger)
    {
        var settings = options.Value;
        var models = new List<CatalogModel>(settings.Entries.Count);
        try
        {
            foreach (var entry in settings.Entries)
            {
                var directory = entry.IsDemo
                    ? DemoModelBuilder.EnsureBuilt(settings.DemoCacheRoot ?? DemoModelBuilder.DefaultCacheRoot, settings.DemoSpec ?? DemoModelSpec.Default)
                    : entry.Directory!;
                var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu });
                models.Add(new CatalogModel(entry.Name, model));
                LogLoaded(logger, entry.Name, directory, model.Config.ContextLength, model.Config.VocabSize);
            }
        }
        catch
        {
            models.ForEach(m => m.CpuModel.Dispose());
            throw;
        }

        Models = models;
        _byName = models.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    /// <summary>The served models, in configuration order.</summary>
    public IReadOnlyList<CatalogModel> Models { get; }

    /// <summary>Finds a model by the name clients use (case-sensitive).</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out CatalogModel? model) => _byName.TryGetValue(name, out model);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var model in Models)
        {
            model.CpuModel.Dispose();
        }
    }
}
