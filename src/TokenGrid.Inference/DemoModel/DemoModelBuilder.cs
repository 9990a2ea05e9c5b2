namespace TokenGrid.Inference.DemoModel;

/// <summary>
/// Writes the demo model: a small GPT-2-architecture decoder with deterministic random weights, as an ONNX
/// model directory the engine loads like any exported model (<c>model.onnx</c>, <c>model.onnx.data</c> when
/// <see cref="DemoModelSpec.ExternalData"/>, <c>genai_config.json</c> and <c>tiktoken.json</c> naming the
/// cl100k_base tokenizer). ONNX models cannot be downloaded everywhere TokenGrid runs; this one can always be built.
/// </summary>
public static class DemoModelBuilder
{
    internal const string ModelFileName = "model.onnx";
    internal const string DataFileName = "model.onnx.data";
    internal const string TiktokenConfigFile = "tiktoken.json";

    // The HResult of the IOException for a file another holder has locked: Windows' ERROR_SHARING_VIOLATION, and on
    // Linux and macOS the errno of a refused non-blocking flock, EWOULDBLOCK (11 and 35), which the runtime passes on.
    private const int SharingViolation = unchecked((int)0x80070020);
    private static readonly int s_wouldBlock = OperatingSystem.IsMacOS() ? 35 : 11;

    /// <summary>
    /// Where <see cref="EnsureBuilt"/> caches models by default: <c>$TOKENGRID_MODEL_CACHE</c> when set,
    /// otherwise <c>tokengrid/models</c> under <c>$XDG_CACHE_HOME</c>, or under <c>~/.cache</c> when that is unset.
    /// </summary>
    public static string DefaultCacheRoot
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("TOKENGRID_MODEL_CACHE");
            if (!string.IsNullOrWhiteSpace(configured))
            {
                return Path.GetFullPath(configured);
            }

            // The XDG spec says to ignore a relative XDG_CACHE_HOME.
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var cache = !string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(cache, "tokengrid", "models");
        }
    }

    /// <summary>Writes the model described by <paramref name="spec"/> into <paramref name="directory"/>, creating it.</summary>
    /// <exception cref="ArgumentException">The spec does not describe a buildable model.</exception>
    public static void Write(string directory, DemoModelSpec spec)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(spec);
        var model = Gpt2Graph.Build(spec);
        Directory.CreateDirectory(directory);
        var dataPath = Path.Combine(directory, DataFileName);
        if (!spec.ExternalData && File.Exists(dataPath))
        {
            File.Delete(dataPath);
        }

        OnnxModelFile.Write(model, Path.Combine(directory, ModelFileName), spec.ExternalData ? DataFileName : null);
        GenAiConfigWriter.WriteGenAiConfig(Path.Combine(directory, Models.ModelConfigReader.GenAiConfigFile), ModelFileName, spec);
        GenAiConfigWriter.WriteTiktokenConfig(Path.Combine(directory, TiktokenConfigFile));
    }

    /// <summary>
    /// Returns the directory <c>cacheRoot/spec.CacheKey</c>, building the model there first unless it is already
    /// complete. The model is written to a temporary sibling and moved into place, so the directory appears whole
    /// or not at all. Builders of the same model (threads or processes) take turns on a lock file beside it,
    /// <c>.{CacheKey}.lock</c>: the first builds, the others find its model complete. Without the turns, a builder that
    /// had found no whole directory could delete, as damaged, the one another had just moved into place, under a
    /// third that was about to return it.
    /// </summary>
    public static string EnsureBuilt(string cacheRoot, DemoModelSpec spec)
    {
        ArgumentException.ThrowIfNullOrEmpty(cacheRoot);
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var root = Path.GetFullPath(cacheRoot);
        var target = Path.Combine(root, spec.CacheKey);
        if (IsComplete(target, spec))
        {
            return target;
        }

        Directory.CreateDirectory(root);
        using var turn = TakeTurn(Path.Combine(root, $".{spec.CacheKey}.lock"));
        if (IsComplete(target, spec))
        {
            return target;
        }

        if (Directory.Exists(target))
        {
            // Only a whole directory is ever moved into place, so a partial one was damaged afterwards: rebuild it.
            Directory.Delete(target, recursive: true);
        }

        var temporary = Path.Combine(root, $".{spec.CacheKey}.{Guid.NewGuid():N}.tmp");
        try
        {
            Write(temporary, spec);
            try
            {
                Directory.Move(temporary, target);
            }
            catch (IOException) when (IsComplete(target, spec))
            {
                // Another process won the race; its model is identical to ours.
            }
        }
        finally
        {
            if (Directory.Exists(temporary))
            {
                Directory.Delete(temporary, recursive: true);
            }
        }

        return target;
    }

    /// <summary>
    /// Holds the lock file exclusively until disposed (an advisory lock, which the runtime takes for
    /// <see cref="FileShare.None"/>), waiting while another builder holds it. The file stays: deleting it could let
    /// two builders each hold a lock on a different file of the same name.
    /// </summary>
    /// <remarks>Polled, since a lock held by another process gives this one nothing to wait on.</remarks>
    private static FileStream TakeTurn(string path)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (e.HResult == (OperatingSystem.IsWindows() ? SharingViolation : s_wouldBlock))
            {
                Thread.Sleep(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private static bool IsComplete(string directory, DemoModelSpec spec)
    {
        string[] files = [ModelFileName, Models.ModelConfigReader.GenAiConfigFile, TiktokenConfigFile, .. spec.ExternalData ? [DataFileName] : Array.Empty<string>()];
        return files.All(name => new FileInfo(Path.Combine(directory, name)) is { Exists: true, Length: > 0 });
    }
}
