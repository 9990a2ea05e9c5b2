using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Grains.Catalog;

/// <summary>The models a silo serves (section <see cref="SectionName"/>).</summary>
/// <example>
/// <code>
/// "TokenGrid": { "Models": { "Entries": [ { "Name": "demo" }, { "Name": "phi", "Directory": "/models/phi-3" } ] } }
/// </code>
/// </example>
public sealed class ModelCatalogOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Models";

    /// <summary>The <see cref="ModelEntry.Directory"/> value that means the built-in demo model.</summary>
    public const string DemoDirectory = "demo";

    /// <summary>The name of the default entry.</summary>
    public const string DefaultModelName = "demo";

    /// <summary>
    /// Models to serve, by the name clients use. Default: one entry named <c>demo</c> serving the demo model
    /// (applied when the list is empty after binding, because binding appends to a pre-filled list).
    /// </summary>
    public List<ModelEntry> Entries { get; set; } = [];

    /// <summary>The variant of the demo model to build and serve. Default: null, meaning <see cref="DemoModelSpec.Default"/>.</summary>
    public DemoModelSpec? DemoSpec { get; set; }

    /// <summary>Where the demo model is built and cached. Default: null, meaning <see cref="DemoModelBuilder.DefaultCacheRoot"/>.</summary>
    public string? DemoCacheRoot { get; set; }

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate()
    {
        if (Entries.Count == 0)
        {
            return "at least one model must be configured.";
        }

        foreach (var entry in Entries)
        {
            if (string.IsNullOrWhiteSpace(entry.Name))
            {
                return "every model needs a name.";
            }

            if (entry.ModelFile is { } file && ModelFileProblem(entry, file) is { } problem)
            {
                return $"model '{entry.Name}': ModelFile '{file}' {problem}.";
            }
        }

        var duplicate = Entries.GroupBy(e => e.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        return duplicate is null ? null : $"the model name '{duplicate.Key}' is configured more than once.";
    }

    /// <summary>Why <paramref name="file"/> cannot name a decoder file inside the entry's folder, or null.</summary>
    private static string? ModelFileProblem(ModelEntry entry, string file) =>
        entry.IsDemo ? "applies to a model directory, not the built-in demo model"
        : string.IsNullOrWhiteSpace(file) ? "is empty"
        : Path.IsPathRooted(file) ? "must be relative to the model's Directory"
        : file.Split('/', '\\').Contains("..") ? "must stay inside the model's Directory (no '..')"
        : !file.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? "must name an .onnx file"
        : null;
}

/// <summary>One served model.</summary>
public sealed class ModelEntry
{
    /// <summary>The name clients ask for (the OpenAI <c>model</c> field). Required.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// The model directory (ONNX decoder, <c>genai_config.json</c>, tokenizer files). Default: null, which like
    /// <c>"demo"</c> means the built-in demo model.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>
    /// The decoder file to serve, relative to <see cref="Directory"/>, e.g. <c>onnx/model_q4.onnx</c> to pick one variant
    /// of a transformers.js / onnx-community folder (which ships <c>model.onnx</c>, <c>model_fp16.onnx</c>,
    /// <c>model_q4.onnx</c>, ... under <c>onnx/</c>). The configuration is read as without it (<c>genai_config.json</c>,
    /// else <c>config.json</c> and the graph); it wins over <c>genai_config.json</c>'s <c>model.decoder.filename</c>.
    /// Default: null, choosing as <see cref="Inference.Models.ModelConfigReader.FindModelFile"/> does (<c>model.onnx</c>
    /// first, in the folder and then in <c>onnx/</c>).
    /// </summary>
    public string? ModelFile { get; set; }

    /// <summary>True when this entry is the built-in demo model.</summary>
    public bool IsDemo => Directory is null || string.Equals(Directory, ModelCatalogOptions.DemoDirectory, StringComparison.OrdinalIgnoreCase);
}
