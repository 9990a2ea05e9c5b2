using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.DemoModel;

/// <summary>
/// The demo model variants the tests cover, by readable name; all share the tiny model's weights except the
/// grouped-query ones, whose key/value projections are narrower.
/// </summary>
public static class DemoVariants
{
    private static readonly Dictionary<string, DemoModelSpec> s_variants = new()
    {
        ["per-layer"] = DemoModels.Tiny,
        ["combined"] = DemoModels.Tiny with { KvLayout = KvCacheLayout.CombinedPast },
        ["no-position-ids"] = DemoModels.Tiny with { PositionIdsInput = false },
        ["int32-ids"] = DemoModels.Tiny with { IdType = TokenIdType.Int32 },
        ["float16-kv"] = DemoModels.Tiny with { KvPrecision = TensorPrecision.Float16 },
        ["float16-logits"] = DemoModels.Tiny with { LogitsPrecision = TensorPrecision.Float16 },
        ["inline-weights"] = DemoModels.Tiny with { ExternalData = false },
        ["grouped-query"] = DemoModels.Tiny with { KvHeads = 2 },
        ["multi-query-combined"] = DemoModels.Tiny with { KvHeads = 1, KvLayout = KvCacheLayout.CombinedPast },
        ["merged-decoder"] = DemoModels.Tiny with { UseCacheBranch = true },
        ["merged-gqa-f16-int32-no-position-ids-inline"] = DemoModels.Tiny with
        {
            UseCacheBranch = true,
            KvHeads = 2,
            KvPrecision = TensorPrecision.Float16,
            LogitsPrecision = TensorPrecision.Float16,
            IdType = TokenIdType.Int32,
            PositionIdsInput = false,
            ExternalData = false,
        },
        ["combined-f16-int32-no-position-ids"] = DemoModels.Tiny with
        {
            KvLayout = KvCacheLayout.CombinedPast,
            KvPrecision = TensorPrecision.Float16,
            LogitsPrecision = TensorPrecision.Float16,
            IdType = TokenIdType.Int32,
            PositionIdsInput = false,
        },
    };

    public static TheoryData<string> Names => [.. s_variants.Keys];

    /// <summary>Float32 variants: what they compute is exactly what full recomputation on the same graph computes.</summary>
    public static TheoryData<string> ExactNames =>
        [.. s_variants.Where(v => v.Value is { KvPrecision: TensorPrecision.Float32, LogitsPrecision: TensorPrecision.Float32 }).Select(v => v.Key)];

    /// <summary>Float32 variants with the per-layer model's weights (grouped-query attention has fewer key/value weights).</summary>
    public static TheoryData<string> SameWeightNames =>
        [.. s_variants.Where(v => v.Value is { KvPrecision: TensorPrecision.Float32, LogitsPrecision: TensorPrecision.Float32, KvHeads: 0 }).Select(v => v.Key)];

    public static DemoModelSpec Spec(string name) => s_variants[name];
}
