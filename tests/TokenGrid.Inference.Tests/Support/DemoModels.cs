using System.Collections.Concurrent;
using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Inference.Tests.Support;

/// <summary>
/// Demo models for tests, built once per test run into a temporary cache (deleted when the run ends) and
/// shared by every test that asks for the same variant. Thread-safe.
/// </summary>
public static class DemoModels
{
    private static readonly ConcurrentDictionary<string, Lazy<string>> s_built = new();
    private static readonly Lazy<string> s_root = new(CreateRoot);

    /// <summary>Small and quick to run, with the full cl100k vocabulary so real tokenizer output fits.</summary>
    public static DemoModelSpec Small { get; } = new() { Layers = 2, HiddenSize = 64, Heads = 4, ContextLength = 256 };

    /// <summary>Small with a 1000-token vocabulary, for tests that only need ids (the LM head dominates Small's cost).</summary>
    public static DemoModelSpec Tiny { get; } = Small with { VocabSize = 1000 };

    /// <summary>
    /// Tiny with a long context, for tests that need a sequence still running when they act on it: thousands of
    /// tokens to go leave seconds of margin even on a loaded machine.
    /// </summary>
    public static DemoModelSpec TinyLong { get; } = Tiny with { ContextLength = 8192 };

    /// <summary>The cache root of this test run.</summary>
    public static string CacheRoot => s_root.Value;

    /// <summary>The directory of <paramref name="spec"/>'s model, built on first use.</summary>
    public static string Get(DemoModelSpec spec) =>
        s_built.GetOrAdd(spec.CacheKey, _ => new Lazy<string>(() => DemoModelBuilder.EnsureBuilt(CacheRoot, spec))).Value;

    private static string CreateRoot()
    {
        var parent = Path.Combine(Path.GetTempPath(), "tokengrid-tests");
        RemoveLeftovers(parent);
        var root = Path.Combine(parent, $"models-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    }

    /// <summary>Roots of runs that were killed before they could clean up (a day old: surely not running).</summary>
    private static void RemoveLeftovers(string parent)
    {
        if (Directory.Exists(parent))
        {
            foreach (var old in new DirectoryInfo(parent).GetDirectories("models-*").Where(d => d.LastWriteTimeUtc < DateTime.UtcNow.AddDays(-1)))
            {
                TryDelete(old.FullName);
            }
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next run's RemoveLeftovers.
        }
    }
}
