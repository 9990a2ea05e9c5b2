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
    /// or not at all; when another process finishes the same model first, its copy is kept and ours discarded.
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

    private static bool IsComplete(string directory, DemoModelSpec spec)
    {
        string[] files = [ModelFileName, Models.ModelConfigReader.GenAiConfigFile, TiktokenConfigFile, .. spec.ExternalData ? [DataFileName] : Array.Empty<string>()];
        return files.All(name => new FileInfo(Path.Combine(directory, name)) is { Exists: true, Length: > 0 });
    }
}
