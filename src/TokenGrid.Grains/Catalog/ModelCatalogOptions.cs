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
        }

        var duplicate = Entries.GroupBy(e => e.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        return duplicate is null ? null : $"the model name '{duplicate.Key}' is configured more than once.";
    }
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

    /// <summary>True when this entry is the built-in demo model.</summary>
    public bool IsDemo => Directory is null || string.Equals(Directory, ModelCatalogOptions.DemoDirectory, StringComparison.OrdinalIgnoreCase);
}
