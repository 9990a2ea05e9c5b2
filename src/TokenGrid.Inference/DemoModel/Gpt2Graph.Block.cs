using static TokenGrid.Inference.DemoModel.OnnxGraph;
using DataType = TokenGrid.Inference.DemoModel.Onnx.TensorProto.Types.DataType;

namespace TokenGrid.Inference.DemoModel;

internal sealed partial class Gpt2Graph
{
    /// <summary>One pre-LayerNorm block: x + attention(ln_1(x)), then + mlp(ln_2(x)).</summary>
    private string Block(int layer, string x, string allowed)
    {
        var prefix = $"transformer.h.{layer}";
        _g.Scope = $"h.{layer}/attn";
        x = _g.Node("Add", [x, Attention(layer, LayerNorm(x, $"{prefix}.ln_1"), allowed)]);
        _g.Scope = $"h.{layer}/mlp";
        return _g.Node("Add", [x, Mlp(prefix, LayerNorm(x, $"{prefix}.ln_2"))]);
    }

    private string Attention(int layer, string x, string allowed)
    {
        var prefix = $"transformer.h.{layer}.attn";
        var (d, h, kvh, hd) = (_spec.HiddenSize, _spec.Heads, _spec.KeyValueHeads, _spec.HeadSize);
        var kvd = kvh * hd;
        var qkv = Linear(x, $"{prefix}.c_attn", d, d + (2 * kvd), Gpt2Weights.QkvStd(d));
        var parts = _g.Node("Split", [qkv, _g.Int64s(d, kvd, kvd)], 3, Attr("axis", 2L));
        var (q, newKey, newValue) = (Heads(parts[0], h), Heads(parts[1], kvh), Heads(parts[2], kvh));

        var perLayer = _spec.KvLayout == KvCacheLayout.PerLayerKeyValue;
        var (pastKey, pastValue) = perLayer
            ? ($"past_key_values.{layer}.key", $"past_key_values.{layer}.value")
            : (_g.Node("Gather", [$"past_{layer}", _g.Int64Scalar(0)], null, Attr("axis", 0L)),
               _g.Node("Gather", [$"past_{layer}", _g.Int64Scalar(1)], null, Attr("axis", 0L)));

        if (_spec.UseCacheBranch)
        {
            (pastKey, pastValue) = (KeptPast(pastKey), KeptPast(pastValue));
        }

        // Concat copies the past unchanged, so the present's past positions are bit-exact.
        var presentKey = Present(pastKey, newKey, perLayer ? $"present.{layer}.key" : null);
        var presentValue = Present(pastValue, newValue, perLayer ? $"present.{layer}.value" : null);
        if (!perLayer)
        {
            var axis0 = _g.Int64s(0);
            _g.Node("Concat", [_g.Node("Unsqueeze", [presentKey, axis0]), _g.Node("Unsqueeze", [presentValue, axis0])],
                $"present_{layer}", Attr("axis", 0L));
        }

        var (keys, values) = (SharedHeads(ComputeCopy(presentKey)), SharedHeads(ComputeCopy(presentValue)));
        var scores = _g.Node("Mul", [
            _g.Node("MatMul", [q, _g.Node("Transpose", [keys], null, Attr("perm", 0L, 1L, 3L, 2L))]),
            _g.FloatScalar(1f / MathF.Sqrt(hd))]);
        var masked = _g.Node("Where", [allowed, scores, _g.FloatScalar(MaskedScore)]);
        var probabilities = _g.Node("Softmax", [masked], null, Attr("axis", -1L));
        var context = _g.Node("MatMul", [probabilities, values]);
        var merged = _g.Node("Reshape", [_g.Node("Transpose", [context], null, Attr("perm", 0L, 2L, 1L, 3L)), _g.Int64s(0, 0, d)]);
        return Linear(merged, $"{prefix}.c_proj", d, d, Gpt2Weights.AttentionOutStd(d));

        // [batch, seq, n * head_size] -> [batch, n, seq, head_size]
        string Heads(string t, int n) =>
            _g.Node("Transpose", [_g.Node("Reshape", [t, _g.Int64s(0, 0, n, hd)])], null, Attr("perm", 0L, 2L, 1L, 3L));
    }

    /// <summary>
    /// Grouped-query attention: [batch, kv_heads, total, head_size] -> [batch, heads, total, head_size], each
    /// key/value head repeated for the query heads it serves (head i uses key/value head i / (heads / kv_heads)).
    /// </summary>
    private string SharedHeads(string kv)
    {
        var (h, kvh, hd) = (_spec.Heads, _spec.KeyValueHeads, _spec.HeadSize);
        if (kvh == h)
        {
            return kv;
        }

        var grouped = _g.Node("Unsqueeze", [kv, _g.Int64s(2)]);
        var repeated = _g.Node("Expand", [grouped, _g.Int64s(1, 1, h / kvh, 1, 1)]);
        return _g.Node("Reshape", [repeated, _g.Int64s(0, h, -1, hd)]);
    }

    /// <summary>
    /// A merged decoder's past as the attention sees it: all of it when <c>use_cache_branch</c> is true, none of it
    /// (a zero-length slice) when false, as Optimum's merged graphs take the branch without a cache on the first step.
    /// </summary>
    private string KeptPast(string past)
    {
        var useCache = _g.Node("Cast", [UseCacheBranch], null, Attr("to", DataType.Int64));
        var length = _g.Node("Shape", [past], null, Attr("start", 2L), Attr("end", 3L));
        return _g.Node("Slice", [past, _g.Int64s(0), _g.Node("Mul", [useCache, length]), _g.Int64s(2)]);
    }

    /// <summary>Past and new positions joined on the sequence axis, in the cache's element type.</summary>
    private string Present(string past, string current, string? output)
    {
        var stored = _kvType == DataType.Float ? current : _g.Node("Cast", [current], null, Attr("to", DataType.Float16));
        return _g.Node("Concat", [past, stored], output, Attr("axis", 2L));
    }

    /// <summary>The cache as the attention computes with it: float32 whatever the cache stores.</summary>
    private string ComputeCopy(string present) =>
        _kvType == DataType.Float ? present : _g.Node("Cast", [present], null, Attr("to", DataType.Float));

    private string Mlp(string prefix, string x)
    {
        var d = _spec.HiddenSize;
        var hidden = Linear(x, $"{prefix}.mlp.c_fc", d, 4 * d, Gpt2Weights.MlpInStd(d));

        // GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
        var cubic = _g.Node("Mul", [_g.Node("Pow", [hidden, _g.FloatScalar(3f)]), _g.FloatScalar(0.044715f)]);
        var inner = _g.Node("Mul", [_g.Node("Add", [hidden, cubic]), _g.FloatScalar(MathF.Sqrt(2f / MathF.PI))]);
        var gate = _g.Node("Add", [_g.Node("Tanh", [inner]), _g.FloatScalar(1f)]);
        var activated = _g.Node("Mul", [_g.Node("Mul", [hidden, _g.FloatScalar(0.5f)]), gate]);
        return Linear(activated, $"{prefix}.mlp.c_proj", 4 * d, d, Gpt2Weights.MlpOutStd(d));
    }

    /// <summary>x · W + b with W stored [in, out] as GPT-2's Conv1D does.</summary>
    private string Linear(string x, string prefix, int inputs, int outputs, double std)
    {
        var weight = _g.Initializer($"{prefix}.weight", Gpt2Weights.Normal(_spec, $"{prefix}.weight", inputs * outputs, std), inputs, outputs);
        var bias = _g.Initializer($"{prefix}.bias", Gpt2Weights.Normal(_spec, $"{prefix}.bias", outputs, Gpt2Weights.BiasStd), outputs);
        return _g.Node("Add", [_g.Node("MatMul", [x, weight]), bias]);
    }
}
