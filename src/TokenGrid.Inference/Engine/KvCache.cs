using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TokenGrid.Inference.Models;

namespace TokenGrid.Inference.Engine;

/// <summary>Where one row of a re-laid-out cache comes from.</summary>
/// <param name="FromGroup">True: a row of a finished prefill group; false: a row of the running batch.</param>
/// <param name="Row">The row index in its source.</param>
/// <param name="Length">Real (unpadded) positions in the row; they sit at the right end of the source row.</param>
/// <param name="Skip">
/// Positions at the right end of the source row left out: a fork copies only the first <paramref name="Length"/> real
/// positions (the prompt) of a running sibling that holds <paramref name="Length"/> + <paramref name="Skip"/>.
/// </param>
/// <param name="Head">
/// With <paramref name="Gap"/>: the row's real positions are in two runs, the first <paramref name="Head"/> of them (a
/// prefix taken from the prefix cache), then <paramref name="Gap"/> padding positions, then the rest at the right end.
/// </param>
/// <param name="Gap">Padding positions between the two runs; 0: the real positions are one run.</param>
internal readonly record struct RowSource(bool FromGroup, int Row, int Length, int Skip = 0, int Head = 0, int Gap = 0);

/// <summary>One lane of the running batch: its rows, and the positions each holds (padding included).</summary>
internal readonly record struct CacheLane(int Rows, int Length);

/// <summary>
/// The running batch's key/value cache: one pair of buffers per past input (ping-pong), in the memory the model runs in
/// (the session's device allocator on CUDA, native memory outside ONNX Runtime's arena on the CPU: <see cref="DeviceBuffer"/>),
/// and bound to the run. A step reads the
/// past from the front buffer and ONNX Runtime writes the present straight into the back buffer, which then
/// becomes the front; nothing is copied, allocated or moved to the host per step. The batch is split into lanes
/// (<see cref="DecodeLanes"/>), each run on its own over a region of the buffers, one after another; a lane's rows are
/// right-aligned: a row with fewer real positions than its lane's length is padded on the left, and the attention mask
/// hides the padding. A change of membership re-lays the rows out once, trimming padding no row needs. A batch that
/// shrank to under a quarter of its buffers gives the rest back, and an empty batch holds none.
/// </summary>
internal sealed class KvCache : IDisposable
{
    /// <summary>Lane regions start on this boundary (a device's preferred alignment).</summary>
    private const long LaneAlignment = 256;

    private readonly DeviceBuffer[] _front;
    private readonly DeviceBuffer[] _back;
    private readonly CacheCopier _copier;
    private readonly int _planes;
    private readonly int _heads;
    private readonly int _positionBytes;
    private CacheLane[] _lanes = [];

    public KvCache(DecoderModelConfig config, DecoderSignature signature, CacheMemory memory)
    {
        Type = signature.KvType;
        ElementSize = Type == TensorElementType.Float16 ? 2 : 4;
        _planes = config.Io.Layout == KvLayout.CombinedPast ? 2 : 1;
        _heads = config.KvHeads;
        HeadSize = config.HeadSize;
        _positionBytes = HeadSize * ElementSize;
        var tensors = signature.PastNames.Count;
        _front = [.. Enumerable.Range(0, tensors).Select(_ => new DeviceBuffer(memory))];
        _back = [.. Enumerable.Range(0, tensors).Select(_ => new DeviceBuffer(memory))];
        _copier = new CacheCopier(memory);
    }

    public TensorElementType Type { get; }

    public int ElementSize { get; }

    public int HeadSize { get; }

    /// <summary>1, or 2 for a model whose past input holds key and value together.</summary>
    public int Planes => _planes;

    /// <summary>Key/value heads.</summary>
    public int Heads => _heads;

    /// <summary>Bytes of one position of one row, over every past input: what a padded position costs a step to read.</summary>
    public long BytesPerPosition => (long)_front.Length * _planes * _heads * _positionBytes;

    /// <summary>The lanes of the running batch, in row order: lane 0 holds the first rows.</summary>
    public IReadOnlyList<CacheLane> Lanes => _lanes;

    /// <summary>Rows in the running batch.</summary>
    public int Batch { get; private set; }

    /// <summary>Positions per row of the longest lane, padding included.</summary>
    public int Length { get; private set; }

    /// <summary>Bytes held by the cache buffers.</summary>
    public long CapacityBytes => _front.Sum(b => b.Capacity) + _back.Sum(b => b.Capacity);

    /// <summary>The most <see cref="CapacityBytes"/> held at once so far (the buffers now may hold less: see <see cref="DeviceBuffer.Fit"/>).</summary>
    internal long PeakBytes { get; private set; }

    /// <summary>Allocations of the cache buffers so far (see <see cref="DeviceBuffer.Allocations"/>).</summary>
    internal int Allocations => _front.Sum(b => b.Allocations) + _back.Sum(b => b.Allocations);

    /// <summary>Where the cache buffers' memory starts.</summary>
    internal IEnumerable<IntPtr> Pointers => _front.Concat(_back).Select(b => b.Pointer);

    internal IEnumerable<OrtValue> Storage => _front.Concat(_back).Select(b => b.Storage).OfType<OrtValue>();

    /// <summary>
    /// Bounds the buffers' geometric growth to <paramref name="positions"/> padded positions (rows × positions, summed over
    /// the lanes) per copy, in up to <paramref name="lanes"/> lanes: the most the engine's admission lets the batch hold
    /// (<see cref="EngineOptions.MaxKvCacheBytes"/>). A layout above it still gets its memory; growth just stops doubling there.
    /// </summary>
    public void Bound(long positions, int lanes)
    {
        var bytes = (_planes * _heads * _positionBytes * positions) + (lanes * LaneAlignment);
        foreach (var b in _front.Concat(_back))
        {
            b.Limit = bytes;
        }
    }

    /// <summary>The shape of one cache tensor for a batch and length.</summary>
    public long[] Shape(int batch, int length) => _planes == 2
        ? [2, batch, _heads, length, HeadSize]
        : [batch, _heads, length, HeadSize];

    /// <summary>The lane of running-batch row <paramref name="row"/>, and the row's index in it.</summary>
    public (int Lane, int Row) Locate(int row) => Locate(_lanes, row);

    /// <summary>The past inputs' memory of lane <paramref name="lane"/> (in the front buffers), in past-input order.</summary>
    public IReadOnlyList<IntPtr> LanePointers(int lane)
    {
        var offset = Offset(_lanes, lane, 0);
        return [.. _front.Select(b => b.Pointer + (nint)offset)];
    }

    /// <summary>Sizes the back buffers for a decode step of every lane; before the first lane's <see cref="BindPresent"/>.</summary>
    public void PrepareStep()
    {
        var bytes = Math.Max(Offset(_lanes, _lanes.Length, 1), ElementSize);
        foreach (var b in _back)
        {
            // The back buffer's contents are rewritten by the step: what a smaller batch no longer needs goes back here.
            b.Fit(bytes);
            b.EnsureCapacity(bytes);
        }

        TrackPeak();
    }

    /// <summary>Binds lane <paramref name="lane"/>'s past (front) of every tensor as the inputs of a decode run; the values go to <paramref name="owned"/>.</summary>
    public void BindPast(int lane, OrtIoBinding binding, IReadOnlyList<string> names, List<OrtValue> owned) =>
        Bind(binding, names, _front, Offset(_lanes, lane, 0), Shape(_lanes[lane].Rows, _lanes[lane].Length), input: true, owned);

    /// <summary>Binds lane <paramref name="lane"/>'s region of the back buffers as the present outputs of a decode run (one position longer).</summary>
    public void BindPresent(int lane, OrtIoBinding binding, IReadOnlyList<string> names, List<OrtValue> owned) =>
        Bind(binding, names, _back, Offset(_lanes, lane, 1), Shape(_lanes[lane].Rows, _lanes[lane].Length + 1), input: false, owned);

    /// <summary>After a decode step of every lane: the present becomes the past.</summary>
    public void CommitStep()
    {
        Swap();
        for (var l = 0; l < _lanes.Length; l++)
        {
            _lanes[l] = _lanes[l] with { Length = _lanes[l].Length + 1 };
        }

        Length++;
    }

    /// <summary>Builds a new batch of one lane; see <see cref="Relayout(IReadOnlyList{RowSource}, IReadOnlyList{int}, IReadOnlyList{OrtValue}?, int, int)"/>.</summary>
    public void Relayout(IReadOnlyList<RowSource> rows, IReadOnlyList<OrtValue>? group, int groupBatch, int groupLength) =>
        Relayout(rows, rows.Count == 0 ? [] : [rows.Count], group, groupBatch, groupLength);

    /// <summary>
    /// Builds a new batch from rows of the running batch and of a prefilled group (whose cache is in the same
    /// memory; a source row may be used more than once, for forked sequences), in lanes of <paramref name="laneSizes"/>
    /// rows taken in order, each right-aligned to its longest row, and zeroes the padding (masked positions must hold
    /// finite values).
    /// </summary>
    public void Relayout(IReadOnlyList<RowSource> rows, IReadOnlyList<int> laneSizes, IReadOnlyList<OrtValue>? group, int groupBatch, int groupLength)
    {
        if (laneSizes.Sum() != rows.Count || laneSizes.Any(s => s <= 0))
        {
            throw new ArgumentException($"Lanes of {string.Join(", ", laneSizes)} rows do not hold the {rows.Count} given.", nameof(laneSizes));
        }

        var lanes = new CacheLane[laneSizes.Count];
        var first = 0;
        for (var l = 0; l < lanes.Length; l++)
        {
            lanes[l] = new CacheLane(laneSizes[l], Enumerable.Range(first, laneSizes[l]).Max(r => rows[r].Length));
            first += laneSizes[l];
        }

        var bytes = Offset(lanes, lanes.Length, 0);
        for (var t = 0; t < _front.Length; t++)
        {
            _back[t].Fit(bytes);
            _back[t].EnsureCapacity(bytes);
            var groupData = group is null ? IntPtr.Zero : DataPointer(group[t]);
            var r = 0;
            for (var l = 0; l < lanes.Length; r += lanes[l].Rows, l++)
            {
                var lane = lanes[l];
                var laneStart = _back[t].Pointer + (nint)Offset(lanes, l, 0);
                for (var i = 0; i < lane.Rows; i++)
                {
                    var row = rows[r + i];
                    var (src, srcBatch, srcRow, srcLength) = row.FromGroup
                        ? (groupData, groupBatch, row.Row, groupLength)
                        : Source(_front[t].Pointer, row.Row);
                    for (var p = 0; p < _planes; p++)
                    {
                        var dstRow = laneStart + (nint)((((long)p * lane.Rows) + i) * _heads * lane.Length * _positionBytes);
                        CopyRow(src + (nint)((((long)p * srcBatch) + srcRow) * _heads * srcLength * _positionBytes), srcLength, dstRow, lane.Length, row);
                    }
                }
            }
        }

        _copier.Flush();
        TrackPeak();
        Swap();
        if (rows.Count == 0)
        {
            // An idle engine holds no cache: the batch's memory goes back until the next sequence needs it.
            foreach (var b in _back)
            {
                b.Fit(0);
            }
        }

        _lanes = lanes;
        Batch = rows.Count;
        Length = lanes.Length == 0 ? 0 : lanes.Max(l => l.Length);
    }

    public void Dispose()
    {
        foreach (var b in _front.Concat(_back))
        {
            b.Dispose();
        }

        _copier.Dispose();
    }

    /// <summary>The address of a tensor's data, without reading it (it may be device memory).</summary>
    internal static unsafe IntPtr DataPointer(OrtValue value) =>
        (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetReference(value.GetTensorMutableRawData()));

    private static (int Lane, int Row) Locate(CacheLane[] lanes, int row)
    {
        for (var l = 0; l < lanes.Length; l++)
        {
            if (row < lanes[l].Rows)
            {
                return (l, row);
            }

            row -= lanes[l].Rows;
        }

        throw new ArgumentOutOfRangeException(nameof(row), "The row is not in the running batch.");
    }

    /// <summary>Where lane <paramref name="lane"/> starts in a buffer when every lane holds <paramref name="extra"/> positions more (the present: 1).</summary>
    private long Offset(CacheLane[] lanes, int lane, int extra)
    {
        long offset = 0;
        for (var l = 0; l < lane; l++)
        {
            var bytes = (long)_planes * lanes[l].Rows * _heads * (lanes[l].Length + extra) * _positionBytes;
            offset += (bytes + LaneAlignment - 1) / LaneAlignment * LaneAlignment;
        }

        return offset;
    }

    /// <summary>Running-batch row <paramref name="row"/> in the front buffer starting at <paramref name="front"/>: its lane's start, rows, its index there and the lane's length.</summary>
    private (IntPtr Data, int Batch, int Row, int Length) Source(IntPtr front, int row)
    {
        var (lane, index) = Locate(_lanes, row);
        return (front + (nint)Offset(_lanes, lane, 0), _lanes[lane].Rows, index, _lanes[lane].Length);
    }

    /// <summary>Copies one plane of a row (every head) from a source of <paramref name="srcLength"/> positions to a lane of <paramref name="length"/>.</summary>
    private void CopyRow(IntPtr srcRow, int srcLength, IntPtr dstRow, int length, RowSource row)
    {
        if (srcLength == length && row.Skip == 0 && row.Gap == 0)
        {
            // Same stride: the row moves whole, its padding with it (finite: zeroed here before,
            // or computed from padding tokens by the prefill).
            _copier.Copy(srcRow, dstRow, (long)_heads * length * _positionBytes);
            return;
        }

        var pad = (long)(length - row.Length) * _positionBytes;
        var head = (long)row.Head * _positionBytes;
        var tail = (long)(row.Length - row.Head) * _positionBytes;
        for (var h = 0; h < _heads; h++)
        {
            var dst = dstRow + (nint)((long)h * length * _positionBytes);
            var end = srcRow + (nint)((((long)h * srcLength) + (srcLength - row.Skip)) * _positionBytes);
            _copier.Zero(dst, pad);
            _copier.Copy(end - (nint)(tail + (row.Gap * _positionBytes) + head), dst + (nint)pad, head);
            _copier.Copy(end - (nint)tail, dst + (nint)(pad + head), tail);
        }
    }

    private void Bind(OrtIoBinding binding, IReadOnlyList<string> names, DeviceBuffer[] buffers, long offset, long[] shape, bool input, List<OrtValue> owned)
    {
        for (var t = 0; t < buffers.Length; t++)
        {
            var value = buffers[t].Wrap(Type, ElementSize, shape, offset);
            owned.Add(value);
            if (input)
            {
                binding.BindInput(names[t], value);
            }
            else
            {
                binding.BindOutput(names[t], value);
            }
        }
    }

    private void TrackPeak()
    {
        long bytes = 0;
        for (var t = 0; t < _front.Length; t++)
        {
            bytes += _front[t].Capacity + _back[t].Capacity;
        }

        PeakBytes = Math.Max(PeakBytes, bytes);
    }

    private void Swap()
    {
        for (var t = 0; t < _front.Length; t++)
        {
            (_front[t], _back[t]) = (_back[t], _front[t]);
        }
    }
}
