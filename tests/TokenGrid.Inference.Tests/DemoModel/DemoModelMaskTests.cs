using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.DemoModel;

/// <summary>
/// What an engine relies on when it batches sequences: padding columns (left or in the middle) change nothing
/// for real tokens, padding queries stay finite, and presents copy the past exactly.
/// </summary>
public sealed class DemoModelMaskTests
{
    private const int Pad = 999;

    // Each row: ids with padding, its mask, and the unpadded sequence it must behave like.
    private static readonly (long[] Ids, long[] Mask, int[] Real)[] s_rows =
    [
        ([17, 400, 23, 999, 5], [1, 1, 1, 1, 1], [17, 400, 23, 999, 5]),
        ([Pad, Pad, 8, 77, 300], [0, 0, 1, 1, 1], [8, 77, 300]),
        ([8, Pad, 77, Pad, 300], [1, 0, 1, 0, 1], [8, 77, 300]),
    ];

    [Theory]
    [InlineData("per-layer")]
    [InlineData("no-position-ids")]
    [InlineData("combined-f16-int32-no-position-ids")]
    public void Padding_columns_do_not_change_real_tokens_logits(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        using var session = Open(spec);
        var width = s_rows[0].Ids.Length;
        using var outputs = Run(session, [.. s_rows.SelectMany(r => r.Ids)], [.. s_rows.SelectMany(r => r.Mask)], s_rows.Length, width, pasts: null);

        var tolerance = spec.LogitsPrecision == TensorPrecision.Float16 ? 2e-3f : 1e-4f;
        for (var r = 0; r < s_rows.Length; r++)
        {
            AssertClose(ReferenceDecoder.LastLogits(session, s_rows[r].Real), ReferenceDecoder.Row(outputs[0], (r * width) + width - 1), tolerance);
        }

        // Query rows of padding columns see no key at all; they must still be finite.
        Assert.All(Enumerable.Range(0, s_rows.Length * width), i => Assert.All(ReferenceDecoder.Row(outputs[0], i), v => Assert.True(float.IsFinite(v))));
    }

    [Theory]
    [InlineData("per-layer")]
    [InlineData("combined-f16-int32-no-position-ids")]
    public void A_cached_step_over_a_padded_past_matches_the_unpadded_sequence(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        using var session = Open(spec);
        var width = s_rows[0].Ids.Length;
        long[] mask = [.. s_rows.SelectMany(r => r.Mask)];
        using var prefill = Run(session, [.. s_rows.SelectMany(r => r.Ids)], mask, s_rows.Length, width, pasts: null);

        long[] next = [3, 141, 59];
        long[] stepMask = [.. s_rows.SelectMany(r => r.Mask.Append(1))];
        using var step = Run(session, next, stepMask, s_rows.Length, 1, pasts: [.. prefill.Skip(1)]);

        var tolerance = spec.LogitsPrecision == TensorPrecision.Float16 ? 2e-3f : 1e-4f;
        for (var r = 0; r < s_rows.Length; r++)
        {
            AssertClose(ReferenceDecoder.LastLogits(session, [.. s_rows[r].Real, (int)next[r]]), ReferenceDecoder.Row(step[0], r), tolerance);
        }
    }

    [Theory]
    [InlineData("per-layer")]
    [InlineData("combined")]
    [InlineData("float16-kv")]
    public void Presents_copy_the_past_bit_for_bit(string variant)
    {
        using var session = Open(DemoVariants.Spec(variant));
        using var first = Run(session, [17, 400, 23], [1, 1, 1], 1, 3, pasts: null);
        using var second = Run(session, [5], [1, 1, 1, 1], 1, 1, pasts: [.. first.Skip(1)]);

        for (var i = 1; i < first.Count; i++)
        {
            var past = first[i].GetTensorMutableRawData();
            var present = second[i].GetTensorMutableRawData();
            var shape = first[i].GetTensorTypeAndShape().Shape;
            var row = (int)(shape[^2] * shape[^1] * (past.Length / first[i].GetTensorTypeAndShape().ElementCount));
            var blocks = past.Length / row;
            var presentRow = present.Length / blocks;
            Assert.True(presentRow > row);
            for (var b = 0; b < blocks; b++)
            {
                Assert.True(past.Slice(b * row, row).SequenceEqual(present.Slice(b * presentRow, row)), $"output {i}, block {b}");
            }
        }
    }

    private static InferenceSession Open(DemoModelSpec spec) => new(Path.Combine(DemoModels.Get(spec), "model.onnx"));

    /// <summary>One run over [batch, width] new ids; positions count the real tokens before each column, as an engine does.</summary>
    private static IDisposableReadOnlyCollection<OrtValue> Run(InferenceSession session, long[] ids, long[] mask, int batch, int width, IReadOnlyList<OrtValue>? pasts)
    {
        var meta = session.InputMetadata;
        var total = mask.Length / batch;
        var positions = new long[batch * width];
        for (var b = 0; b < batch; b++)
        {
            var seen = 0L;
            for (var c = 0; c < total; c++)
            {
                seen += mask[(b * total) + c];
                if (c >= total - width)
                {
                    positions[(b * width) + c - (total - width)] = Math.Max(0, seen - 1);
                }
            }
        }

        var pastNames = meta.Keys.Where(n => n.StartsWith("past", StringComparison.Ordinal)).ToList();
        var owned = new List<OrtValue>
        {
            ReferenceDecoder.Integers(meta["input_ids"].ElementDataType, ids, [batch, width]),
            ReferenceDecoder.Integers(meta["attention_mask"].ElementDataType, mask, [batch, total]),
        };
        var names = new List<string> { "input_ids", "attention_mask" };
        if (meta.TryGetValue("position_ids", out var positionMeta))
        {
            owned.Add(ReferenceDecoder.Integers(positionMeta.ElementDataType, positions, [batch, width]));
            names.Add("position_ids");
        }

        var cache = pasts ?? pastNames.Select(n => ReferenceDecoder.EmptyCache(meta[n], batch)).ToList();
        try
        {
            using var runOptions = new RunOptions();
            return session.Run(runOptions, [.. names, .. pastNames], [.. owned, .. cache], ["logits", .. pastNames.Select(CachedGreedyLoop.PresentName)]);
        }
        finally
        {
            owned.ForEach(v => v.Dispose());
            if (pasts is null)
            {
                foreach (var v in cache)
                {
                    v.Dispose();
                }
            }
        }
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        Assert.True(worst <= tolerance, $"largest difference {worst}");
    }
}
