namespace TokenGrid.Inference.DemoModel;

/// <summary>How the demo model passes its key/value cache between steps.</summary>
public enum KvCacheLayout
{
    /// <summary>
    /// Optimum and onnxruntime-genai style: <c>past_key_values.{i}.key</c>/<c>.value</c> of shape
    /// [batch, heads, past, head_size] in, <c>present.{i}.key</c>/<c>.value</c> out.
    /// </summary>
    PerLayerKeyValue,

    /// <summary>
    /// The older ONNX Runtime transformers GPT-2 style: <c>past_{i}</c> of shape
    /// [2, batch, heads, past, head_size] (index 0 key, 1 value) in, <c>present_{i}</c> out.
    /// </summary>
    CombinedPast,
}

/// <summary>Element type of a floating-point model input or output.</summary>
public enum TensorPrecision
{
    /// <summary>32-bit IEEE float.</summary>
    Float32,

    /// <summary>16-bit IEEE half float.</summary>
    Float16,
}

/// <summary>Element type of the token id, attention mask and position id inputs.</summary>
public enum TokenIdType
{
    /// <summary>64-bit integers (what Optimum exports take).</summary>
    Int64,

    /// <summary>32-bit integers (what onnxruntime-genai exports take).</summary>
    Int32,
}
