using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>A model cache directory of one test fixture: demo models are built into it, and it is deleted with the fixture.</summary>
public sealed class TemporaryModelCache(string purpose) : IDisposable
{
    /// <summary>The cache root.</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"tokengrid-{purpose}-tests", $"models-{Environment.ProcessId}-{Guid.NewGuid():N}");

    /// <summary>Builds <paramref name="spec"/> into the cache (once) and returns its directory.</summary>
    public string Build(DemoModelSpec spec) => DemoModelBuilder.EnsureBuilt(Root, spec);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temporary directory; the OS cleans it eventually.
        }
    }
}
