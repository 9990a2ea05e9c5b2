using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace TokenGrid.Inference.Models;

/// <summary>
/// The decoder's inputs and outputs checked against the ONNX session, with the element type of each
/// read from the metadata: exports differ (int32 or int64 ids, float16 or float32 cache and logits).
/// </summary>
public sealed record DecoderSignature
{
    /// <summary>The boolean input of Optimum's merged decoders that selects the branch with a cache.</summary>
    public const string UseCacheBranchInput = "use_cache_branch";

    /// <summary>Element type of <c>input_ids</c> (int32 or int64).</summary>
    public required TensorElementType IdType { get; init; }

    /// <summary>Element type of the attention mask (int32 or int64).</summary>
    public required TensorElementType MaskType { get; init; }

    /// <summary>Element type of position ids, or null when the model has none.</summary>
    public required TensorElementType? PositionType { get; init; }

    /// <summary>The position ids input the engine feeds, or null when the graph has none (it computes positions itself).</summary>
    public string? PositionIds { get; init; }

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

    /// <summary>
    /// Checks every configured name against the session and reads the element types. Optional inputs
    /// (position ids, <c>use_cache_branch</c>) are fed when the graph has them, as onnxruntime-genai does.
    /// </summary>
    public static DecoderSignature Resolve(DecoderModelConfig config, InferenceSession session)
    {
        var inputs = session.InputMetadata;
        var outputs = session.OutputMetadata;
        var io = config.Io;
        var past = io.PastNames(config.Layers);
        var present = io.PresentNames(config.Layers);

        NodeMetadata In(string name) => inputs.TryGetValue(name, out var m) ? m
            : throw new InvalidModelException($"{config.ModelPath}: no input '{name}'; its inputs are: {string.Join(", ", inputs.Keys)}.");
        NodeMetadata Out(string name) => outputs.TryGetValue(name, out var m) ? m
            : throw new InvalidModelException($"{config.ModelPath}: no output '{name}'; its outputs are: {string.Join(", ", outputs.Keys)}.");

        if (!inputs.ContainsKey(io.InputIds) && inputs.ContainsKey("inputs_embeds"))
        {
            throw new InvalidModelException(
                $"{config.ModelPath}: takes inputs_embeds instead of '{io.InputIds}' (a decoder fed by a separate embedding model); TokenGrid feeds token ids.");
        }

        if (!inputs.ContainsKey(io.AttentionMask))
        {
            throw new InvalidModelException(
                $"{config.ModelPath}: no input '{io.AttentionMask}'; TokenGrid batches sequences of different lengths and needs an attention mask.");
        }

        var ids = In(io.InputIds).ElementDataType;
        var mask = In(io.AttentionMask).ElementDataType;
        var positionIds = io.PositionIds is { } p && inputs.ContainsKey(p) ? p : null;
        var positions = positionIds is null ? (TensorElementType?)null : inputs[positionIds].ElementDataType;
        var kv = In(past[0]).ElementDataType;
        CheckCacheShapes(config, past.Select(In).ToList(), past);
        foreach (var name in present)
        {
            Out(name);
        }

        var logits = Out(io.Logits).ElementDataType;
        Require(config, "input_ids", ids, TensorElementType.Int64, TensorElementType.Int32);
        Require(config, "attention_mask", mask, TensorElementType.Int64, TensorElementType.Int32);
        if (positions is { } type)
        {
            Require(config, "position_ids", type, TensorElementType.Int64, TensorElementType.Int32);
        }

        Require(config, "the cache", kv, TensorElementType.Float, TensorElementType.Float16);
        Require(config, "logits", logits, TensorElementType.Float, TensorElementType.Float16);

        var useCache = inputs.TryGetValue(UseCacheBranchInput, out var branch) ? UseCacheBranchInput : null;
        if (branch is not null)
        {
            Require(config, UseCacheBranchInput, branch.ElementDataType, TensorElementType.Bool);
        }

        var known = new HashSet<string>(past) { io.InputIds, io.AttentionMask };
        known.UnionWith(new[] { positionIds, useCache }.OfType<string>());
        var unknown = inputs.Keys.Where(k => !known.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidModelException(
                $"{config.ModelPath}: has inputs TokenGrid does not know how to feed: {string.Join(", ", unknown)} " +
                $"(it feeds {io.InputIds}, {io.AttentionMask}, position ids, {UseCacheBranchInput} and the past inputs '{(io.Layout == KvLayout.CombinedPast ? io.Past : io.PastKey)}').");
        }

        return new DecoderSignature
        {
            IdType = ids,
            MaskType = mask,
            PositionType = positions,
            PositionIds = positionIds,
            KvType = kv,
            LogitsType = logits,
            PastNames = past,
            PresentNames = present,
            UseCacheBranch = useCache,
        };
    }

    /// <summary>Every layer's cache must have the configured heads and head size: the engine keeps one shape for all.</summary>
    private static void CheckCacheShapes(DecoderModelConfig config, IReadOnlyList<NodeMetadata> pasts, IReadOnlyList<string> names)
    {
        var combined = config.Io.Layout == KvLayout.CombinedPast;
        for (var i = 0; i < pasts.Count; i++)
        {
            var dims = pasts[i].Dimensions;
            var expected = combined ? 5 : 4;
            if (dims.Length != expected)
            {
                throw new InvalidModelException($"{config.ModelPath}: past input '{names[i]}' has {dims.Length} dimensions; this layout has {expected}.");
            }

            var heads = dims[combined ? 2 : 1];
            var headSize = dims[^1];
            if ((heads > 0 && heads != config.KvHeads) || (headSize > 0 && headSize != config.HeadSize))
            {
                throw new InvalidModelException(
                    $"{config.ModelPath}: past input '{names[i]}' has {heads} heads of size {headSize}, not {config.KvHeads} of size {config.HeadSize}; " +
                    "layers with different cache shapes are not supported.");
            }
        }
    }

    private static void Require(DecoderModelConfig config, string what, TensorElementType actual, params TensorElementType[] allowed)
    {
        if (!allowed.Contains(actual))
        {
            throw new InvalidModelException($"{config.ModelPath}: {what} has element type {actual}; supported: {string.Join(", ", allowed)}.");
        }
    }
}
