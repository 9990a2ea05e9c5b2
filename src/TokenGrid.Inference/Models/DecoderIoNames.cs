namespace TokenGrid.Inference.Models;

/// <summary>
/// The graph input and output names of a decoder, as onnxruntime-genai's <c>genai_config.json</c>
/// describes them. Name patterns hold <c>%d</c> where the layer index goes.
/// </summary>
public sealed record DecoderIoNames
{
    /// <summary>Token ids input. Default: <c>input_ids</c>.</summary>
    public string InputIds { get; init; } = "input_ids";

    /// <summary>Attention mask input over past plus current tokens. Default: <c>attention_mask</c>.</summary>
    public string AttentionMask { get; init; } = "attention_mask";

    /// <summary>
    /// Position ids input, fed only when the graph has an input of this name (as onnxruntime-genai does); null
    /// never feeds one. Default: <c>position_ids</c>.
    /// </summary>
    public string? PositionIds { get; init; } = "position_ids";

    /// <summary>Logits output. Default: <c>logits</c>.</summary>
    public string Logits { get; init; } = "logits";

    /// <summary>The cache layout; decides which of the patterns below are used.</summary>
    public KvLayout Layout { get; init; } = KvLayout.PerLayerKeyValue;

    /// <summary>Per-layer past key pattern. Default: <c>past_key_values.%d.key</c>.</summary>
    public string PastKey { get; init; } = "past_key_values.%d.key";

    /// <summary>Per-layer past value pattern. Default: <c>past_key_values.%d.value</c>.</summary>
    public string PastValue { get; init; } = "past_key_values.%d.value";

    /// <summary>Per-layer present key pattern. Default: <c>present.%d.key</c>.</summary>
    public string PresentKey { get; init; } = "present.%d.key";

    /// <summary>Per-layer present value pattern. Default: <c>present.%d.value</c>.</summary>
    public string PresentValue { get; init; } = "present.%d.value";

    /// <summary>Combined past pattern. Default: <c>past_%d</c>.</summary>
    public string Past { get; init; } = "past_%d";

    /// <summary>Combined present pattern. Default: <c>present_%d</c>.</summary>
    public string Present { get; init; } = "present_%d";

    /// <summary>The past input names of every cache tensor, in the order the engine keeps them.</summary>
    public IReadOnlyList<string> PastNames(int layers) => Layout == KvLayout.CombinedPast
        ? [.. Enumerable.Range(0, layers).Select(i => Format(Past, i))]
        : [.. Enumerable.Range(0, layers).SelectMany(i => new[] { Format(PastKey, i), Format(PastValue, i) })];

    /// <summary>The present output names, paired index by index with <see cref="PastNames"/>.</summary>
    public IReadOnlyList<string> PresentNames(int layers) => Layout == KvLayout.CombinedPast
        ? [.. Enumerable.Range(0, layers).Select(i => Format(Present, i))]
        : [.. Enumerable.Range(0, layers).SelectMany(i => new[] { Format(PresentKey, i), Format(PresentValue, i) })];

    /// <summary>The name of layer <paramref name="layer"/>'s tensor in a <c>%d</c> pattern.</summary>
    internal static string Format(string pattern, int layer) =>
        pattern.Replace("%d", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
}
