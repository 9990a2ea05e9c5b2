namespace TokenGrid.Inference.Engine;

/// <summary>
/// What the running batch's key/value cache may hold, and whether one more sequence fits it. The cache is dense: every row
/// of a lane is padded to the lane's longest, and in the worst case one lane holds every row. So a batch of
/// <c>rows</c> sequences whose longest may reach <c>longest</c> positions holds at most rows × longest positions per copy,
/// and the engine keeps two copies (<see cref="Copies"/>). Admission holds that product under the limit, which bounds the
/// cache's memory however the rows grow; lanes only make the real figure smaller.
/// </summary>
internal sealed class KvBudget
{
    /// <summary>Copies of the batch's cache: the past a step reads and the present it writes, swapped each step.</summary>
    public const int Copies = 2;

    /// <param name="limitBytes">Bytes both copies may take; at most <paramref name="maxBatch"/> rows at <paramref name="context"/> when 0 or above.</param>
    /// <param name="bytesPerPosition">Bytes of one position of one row over every past input.</param>
    /// <param name="maxBatch">The engine's batch.</param>
    /// <param name="context">The model's context length.</param>
    public KvBudget(long limitBytes, long bytesPerPosition, int maxBatch, int context)
    {
        BytesPerPosition = Math.Max(1, bytesPerPosition);
        var full = Copies * BytesPerPosition * maxBatch * context;
        LimitBytes = limitBytes <= 0 ? full : Math.Min(limitBytes, full);
    }

    /// <summary>Bytes both copies may take.</summary>
    public long LimitBytes { get; }

    public long BytesPerPosition { get; }

    /// <summary>Padded positions (rows × positions) one copy may hold.</summary>
    public long PositionsPerCopy => LimitBytes / (Copies * BytesPerPosition);

    /// <summary>
    /// Whether a sequence that may reach <paramref name="length"/> positions may join a batch of <paramref name="rows"/>
    /// whose longest may reach <paramref name="longest"/>. An empty batch takes any sequence: one alone always runs.
    /// </summary>
    public bool Admits(int rows, int longest, int length) =>
        rows == 0 || (long)(rows + 1) * Math.Max(longest, length) <= PositionsPerCopy;
}
