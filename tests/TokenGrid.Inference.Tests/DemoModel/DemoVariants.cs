using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.DemoModel;

/// <summary>The demo model variants the tests cover, by readable name; all share the tiny model's weights.</summary>
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

    /// <summary>Variants that compute exactly what the per-layer float32 model computes.</summary>
    public static TheoryData<string> ExactNames =>
        [.. s_variants.Where(v => v.Value is { KvPrecision: TensorPrecision.Float32, LogitsPrecision: TensorPrecision.Float32 }).Select(v => v.Key)];

    public static DemoModelSpec Spec(string name) => s_variants[name];
}
