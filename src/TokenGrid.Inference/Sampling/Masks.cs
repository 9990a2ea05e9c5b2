using System.Numerics;

namespace TokenGrid.Inference.Sampling;

/// <summary>Applies a constraint's token mask to a row of logits.</summary>
internal static class Masks
{
    /// <summary>
    /// Copies <paramref name="logits"/> into <paramref name="into"/> with every id not in <paramref name="allowed"/> at
    /// −∞. A sparse mask (a few hundred ids, as inside JSON punctuation) fills the row and copies the allowed ids back; a
    /// dense one (inside a string) copies the row and clears the forbidden ids.
    /// </summary>
    public static ReadOnlySpan<float> Apply(ReadOnlySpan<float> logits, ulong[] allowed, int allowedCount, float[] into)
    {
        var row = into.AsSpan(0, logits.Length);
        var words = Math.Min(allowed.Length, (logits.Length + 63) / 64);
        if (allowedCount < logits.Length / 4)
        {
            row.Fill(float.NegativeInfinity);
            for (var w = 0; w < words; w++)
            {
                for (var bits = allowed[w]; bits != 0; bits &= bits - 1)
                {
                    var id = (w * 64) + BitOperations.TrailingZeroCount(bits);
                    if (id < row.Length)
                    {
                        row[id] = logits[id];
                    }
                }
            }

            return row;
        }

        logits.CopyTo(row);
        for (var w = 0; w < words; w++)
        {
            for (var bits = ~allowed[w]; bits != 0; bits &= bits - 1)
            {
                var id = (w * 64) + BitOperations.TrailingZeroCount(bits);
                if (id < row.Length)
                {
                    row[id] = float.NegativeInfinity;
                }
            }
        }

        for (var id = words * 64; id < row.Length; id++)
        {
            row[id] = float.NegativeInfinity;
        }

        return row;
    }
}
