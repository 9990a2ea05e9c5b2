namespace TokenGrid.Inference.Models;

/// <summary>How a decoder export passes its key/value cache between steps.</summary>
public enum KvLayout
{
    /// <summary>
    /// Hugging Face Optimum <c>text-generation-with-past</c> and the onnxruntime-genai builder:
    /// <c>past_key_values.{i}.key</c>/<c>.value</c> of shape [batch, heads, past, head_size]
    /// become <c>present.{i}.key</c>/<c>.value</c>.
    /// </summary>
    PerLayerKeyValue,

    /// <summary>
    /// The older ONNX Runtime transformers GPT-2 export: <c>past_{i}</c> stacks key and value as
    /// [2, batch, heads, past, head_size] and becomes <c>present_{i}</c>.
    /// </summary>
    CombinedPast,
}
