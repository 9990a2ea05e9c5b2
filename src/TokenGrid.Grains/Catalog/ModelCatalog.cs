using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Models;
using TokenGrid.Grains.Telemetry;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Catalog;

/// <summary>
/// The models this silo serves, each read once when the catalog is created (the demo model is built first when
/// needed): its configuration, tokenizer and memory estimate. The model is opened on the CPU only to read and check
/// that metadata and closed again, so the catalog holds no weights: the nodes load their own sessions on demand and
/// account for them (see <see cref="Nodes.NodeModels"/>). The HTTP layer uses it to validate model names, tokenize
/// prompts, render chat templates and cap <c>max_tokens</c>. Singleton.
/// </summary>
/// <remarks>
/// A folder that cannot be read does not take the silo down: it is left out of <see cref="Models"/>, logged in one
/// line naming the file and field (no stack trace), listed in <see cref="Failures"/> for the admin API and counted by
/// <c>tokengrid_model_load_failures</c>. The other models serve as usual; a silo with no model at all is not ready.
/// </remarks>
public sealed partial class ModelCatalog
{
    private readonly Dictionary<string, CatalogModel> _byName;

    /// <summary>Reads every configured model; one that cannot be read is recorded in <see cref="Failures"/>, not thrown.</summary>
    public ModelCatalog(IOptions<ModelCatalogOptions> options, ILogger<ModelCatalog> logger, TokenGridInstruments? instruments = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        var models = new List<CatalogModel>(settings.Entries.Count);
        var failures = new List<ModelLoadFailure>();
        foreach (var entry in settings.Entries)
        {
            var directory = entry.IsDemo ? ModelCatalogOptions.DemoDirectory : entry.Directory!;
            try
            {
                if (entry.IsDemo)
                {
                    directory = DemoModelBuilder.EnsureBuilt(settings.DemoCacheRoot ?? DemoModelBuilder.DefaultCacheRoot, settings.DemoSpec ?? DemoModelSpec.Default);
                }

                using var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu, IntraOpThreads = 1, ModelFile = entry.ModelFile, LastPositionLogits = false });
                var served = new CatalogModel(entry.Name, model);
                models.Add(served);
                LogLoaded(logger, entry.Name, directory, Path.GetRelativePath(directory, served.ModelPath), served.ContextLength, served.Config.VocabSize, ModelMemory.Format(served.WeightBytes), served.Tokenizer.Family, served.Fingerprint, served.Chat.Description);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                var failure = ModelLoadFailure.From(entry.Name, directory, e);
                failures.Add(failure);
                LogLoadFailed(logger, entry.Name, directory, failure.Reason);
                instruments?.OnModelLoadFailed(entry.Name, failure.Code);
            }
        }

        Models = models;
        Failures = failures;
        _byName = models.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    /// <summary>The served models, in configuration order.</summary>
    public IReadOnlyList<CatalogModel> Models { get; }

    /// <summary>The configured models that could not be read, in configuration order, with the reason.</summary>
    public IReadOnlyList<ModelLoadFailure> Failures { get; }

    /// <summary>Finds a model by the name clients use (case-sensitive).</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out CatalogModel? model) => _byName.TryGetValue(name, out model);
}
