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
internal readonly record struct RowSource(bool FromGroup, int Row, int Length);

/// <summary>
/// The running batch's key/value cache: one pair of native buffers per past input (ping-pong). A step
/// reads the past from the front buffer and ONNX Runtime writes the present straight into the back
/// buffer, which then becomes the front; nothing is copied or allocated per step. Rows are right-aligned:
/// a row with fewer real positions than <see cref="Length"/> is padded on the left, and the attention mask
/// hides the padding. A change of membership re-lays the rows out once, trimming padding no row needs.
/// </summary>
internal sealed unsafe class KvCache : IDisposable
{
    private readonly NativeBuffer[] _front;
    private readonly NativeBuffer[] _back;
    private readonly int _planes;
    private readonly int _heads;
    private readonly int _positionBytes;

    public KvCache(DecoderModelConfig config, DecoderSignature signature)
    {
        Type = signature.KvType;
        ElementSize = Type == TensorElementType.Float16 ? 2 : 4;
        _planes = config.Io.Layout == KvLayout.CombinedPast ? 2 : 1;
        _heads = config.KvHeads;
        HeadSize = config.HeadSize;
        _positionBytes = HeadSize * ElementSize;
        var tensors = signature.PastNames.Count;
        _front = [.. Enumerable.Range(0, tensors).Select(_ => new NativeBuffer())];
        _back = [.. Enumerable.Range(0, tensors).Select(_ => new NativeBuffer())];
    }

    public TensorElementType Type { get; }

    public int ElementSize { get; }

    public int HeadSize { get; }

    /// <summary>Rows in the running batch.</summary>
    public int Batch { get; private set; }

    /// <summary>Positions per row, padding included.</summary>
    public int Length { get; private set; }

    /// <summary>Bytes held by the cache buffers.</summary>
    public long CapacityBytes => _front.Sum(b => b.Capacity) + _back.Sum(b => b.Capacity);

    /// <summary>The shape of one cache tensor for a batch and length.</summary>
    public long[] Shape(int batch, int length) => _planes == 2
        ? [2, batch, _heads, length, HeadSize]
        : [batch, _heads, length, HeadSize];

    /// <summary>Wraps the past (front) of every tensor for a decode step.</summary>
    public void AddPast(List<OrtValue> values)
    {
        var shape = Shape(Batch, Length);
        foreach (var buffer in _front)
        {
            values.Add(buffer.Wrap(Type, ElementSize, shape));
        }
    }

    /// <summary>Wraps the back buffers as the present outputs of a decode step (one position longer).</summary>
    public void AddPresent(List<OrtValue> values)
    {
        var shape = Shape(Batch, Length + 1);
        foreach (var buffer in _back)
        {
            values.Add(buffer.Wrap(Type, ElementSize, shape));
        }
    }

    /// <summary>After a decode step: the present becomes the past.</summary>
    public void CommitStep()
    {
        Swap();
        Length++;
    }

    /// <summary>
    /// Builds a new batch from rows of the running batch and of a prefilled group, right-aligned to the
    /// longest row, and zeroes the padding (masked positions must hold finite values).
    /// </summary>
    public void Relayout(IReadOnlyList<RowSource> rows, IReadOnlyList<OrtValue>? group, int groupBatch, int groupLength)
    {
        var newBatch = rows.Count;
        var newLength = rows.Count == 0 ? 0 : rows.Max(r => r.Length);
        for (var t = 0; t < _front.Length; t++)
        {
            _back[t].EnsureCapacity((long)_planes * newBatch * _heads * newLength * _positionBytes);
            var groupData = group is null ? null : (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(group[t].GetTensorMutableRawData()));
            for (var p = 0; p < _planes; p++)
            {
                for (var r = 0; r < newBatch; r++)
                {
                    var row = rows[r];
                    var src = row.FromGroup ? groupData : _front[t].Pointer;
                    var (srcBatch, srcLength) = row.FromGroup ? (groupBatch, groupLength) : (Batch, Length);
                    for (var h = 0; h < _heads; h++)
                    {
                        var dst = _back[t].Pointer + (((((long)p * newBatch) + r) * _heads) + h) * newLength * _positionBytes;
                        var pad = (long)(newLength - row.Length) * _positionBytes;
                        new Span<byte>(dst, (int)pad).Clear();
                        var from = src + ((((((long)p * srcBatch) + row.Row) * _heads) + h) * srcLength + (srcLength - row.Length)) * _positionBytes;
                        var bytes = (long)row.Length * _positionBytes;
                        Buffer.MemoryCopy(from, dst + pad, bytes, bytes);
                    }
                }
            }
        }

        Swap();
        Batch = newBatch;
        Length = newLength;
    }

    public void Dispose()
    {
        foreach (var b in _front.Concat(_back))
        {
            b.Dispose();
        }
    }

    private void Swap()
    {
        for (var t = 0; t < _front.Length; t++)
        {
            (_front[t], _back[t]) = (_back[t], _front[t]);
        }
    }
}
