using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Catalog;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>A catalog of one model, <c>demo</c> (the grid fixtures' demo spec), built in a temporary cache removed on dispose.</summary>
public sealed class DemoCatalog : IDisposable
{
    private readonly TemporaryModelCache _models;

    public DemoCatalog(string name)
    {
        _models = new TemporaryModelCache(name);
        Catalog = new ModelCatalog(
            Options.Create(new ModelCatalogOptions { Entries = [new ModelEntry { Name = "demo" }], DemoSpec = GridClusterFixture.ModelSpec, DemoCacheRoot = _models.Root }),
            NullLogger<ModelCatalog>.Instance);
        Model = Catalog.TryGet("demo", out var model) ? model : throw new InvalidOperationException("The demo model did not load.");
    }

    public ModelCatalog Catalog { get; }

    public CatalogModel Model { get; }

    public void Dispose() => _models.Dispose();
}
