using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace TokenGrid.Inference.Models;

/// <summary>
/// The decoder's inputs and outputs checked against the ONNX session, with the element type of each
/// read from the metadata: exports differ (int32 or int64 ids, float16 or float32 cache and logits).
/// </summary>
public sealed record DecoderSignature
{
    /// <summary>Element type of <c>input_ids</c> (int32 or int64).</summary>
    public required TensorElementType IdType { get; init; }

    /// <summary>Element type of the attention mask (int32 or int64).</summary>
    public required TensorElementType MaskType { get; init; }

    /// <summary>Element type of position ids, or null when the model has none.</summary>
    public required TensorElementType? PositionType { get; init; }

    /// <summary>Element type of the cache (float32 or float16).</summary>
    public required TensorElementType KvType { get; init; }

    /// <summary>Element type of the logits (float32 or float16).</summary>
    public required TensorElementType LogitsType { get; init; }

    /// <summary>Past input names, one per cache tensor.</summary>
    public required IReadOnlyList<string> PastNames { get; init; }

    /// <summary>Present output names, paired with <see cref="PastNames"/>.</summary>
    public required IReadOnlyList<string> PresentNames { get; init; }

    /// <summary>Name of the boolean <c>use_cache_branch</c> input of merged Optimum decoders, if any.</summary>
    public string? UseCacheBranch { get; init; }

    /// <summary>Checks every configured name against the session and reads the element types.</summary>
    public static DecoderSignature Resolve(DecoderModelConfig config, InferenceSession session)
    {
        var inputs = session.InputMetadata;
        var outputs = session.OutputMetadata;
        var io = config.Io;
        var past = io.PastNames(config.Layers);
        var present = io.PresentNames(config.Layers);

        NodeMetadata In(string name) => inputs.TryGetValue(name, out var m) ? m
            : throw new InvalidModelException($"Model '{config.Name}' has no input '{name}'; its inputs are: {string.Join(", ", inputs.Keys)}.");
        NodeMetadata Out(string name) => outputs.TryGetValue(name, out var m) ? m
            : throw new InvalidModelException($"Model '{config.Name}' has no output '{name}'; its outputs are: {string.Join(", ", outputs.Keys)}.");

        var ids = In(io.InputIds).ElementDataType;
        var mask = In(io.AttentionMask).ElementDataType;
        var positions = io.PositionIds is null ? (TensorElementType?)null : In(io.PositionIds).ElementDataType;
        var kv = In(past[0]).ElementDataType;
        foreach (var name in present)
        {
            Out(name);
        }

        var logits = Out(io.Logits).ElementDataType;
        Require(config, "input_ids", ids, TensorElementType.Int64, TensorElementType.Int32);
        Require(config, "attention_mask", mask, TensorElementType.Int64, TensorElementType.Int32);
        if (positions is { } p)
        {
            Require(config, "position_ids", p, TensorElementType.Int64, TensorElementType.Int32);
        }

        Require(config, "the cache", kv, TensorElementType.Float, TensorElementType.Float16);
        Require(config, "logits", logits, TensorElementType.Float, TensorElementType.Float16);

        const string useCache = "use_cache_branch";
        var known = new HashSet<string>(past) { io.InputIds, io.AttentionMask, useCache };
        if (io.PositionIds is not null)
        {
            known.Add(io.PositionIds);
        }

        var unknown = inputs.Keys.Where(k => !known.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidModelException($"Model '{config.Name}' has inputs TokenGrid does not know how to feed: {string.Join(", ", unknown)}.");
        }

        return new DecoderSignature
        {
            IdType = ids,
            MaskType = mask,
            PositionType = positions,
            KvType = kv,
            LogitsType = logits,
            PastNames = past,
            PresentNames = present,
            UseCacheBranch = inputs.ContainsKey(useCache) ? useCache : null,
        };
    }

    private static void Require(DecoderModelConfig config, string what, TensorElementType actual, params TensorElementType[] allowed)
    {
        if (!allowed.Contains(actual))
        {
            throw new InvalidModelException($"Model '{config.Name}': {what} has element type {actual}; supported: {string.Join(", ", allowed)}.");
        }
    }
}
