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

/// <summary>
/// The running batch's key/value cache: one pair of buffers per past input (ping-pong), allocated by the
/// session's allocator where the model runs (device memory on CUDA), and bound to the run. A step reads the
/// past from the front buffer and ONNX Runtime writes the present straight into the back buffer, which then
/// becomes the front; nothing is copied, allocated or moved to the host per step. Rows are right-aligned:
/// a row with fewer real positions than <see cref="Length"/> is padded on the left, and the attention mask
/// hides the padding. A change of membership re-lays the rows out once, trimming padding no row needs.
/// </summary>
internal sealed class KvCache : IDisposable
{
    private readonly DeviceBuffer[] _front;
    private readonly DeviceBuffer[] _back;
    private readonly CacheCopier _copier;
    private readonly int _planes;
    private readonly int _heads;
    private readonly int _positionBytes;

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

    /// <summary>The past inputs' memory in the running batch (the front buffers), in past-input order.</summary>
    public IReadOnlyList<IntPtr> FrontPointers => [.. _front.Select(b => b.Pointer)];

    /// <summary>Rows in the running batch.</summary>
    public int Batch { get; private set; }

    /// <summary>Positions per row, padding included.</summary>
    public int Length { get; private set; }

    /// <summary>Bytes held by the cache buffers.</summary>
    public long CapacityBytes => _front.Sum(b => b.Capacity) + _back.Sum(b => b.Capacity);

    /// <summary>The tensors holding the cache memory, front and back (for inspection).</summary>
    /// <summary>Allocations of the cache buffers so far (see <see cref="DeviceBuffer.Allocations"/>).</summary>
    internal int Allocations => _front.Sum(b => b.Allocations) + _back.Sum(b => b.Allocations);

    /// <summary>Where the cache buffers' memory starts.</summary>
    internal IEnumerable<IntPtr> Pointers => _front.Concat(_back).Select(b => b.Pointer);

    internal IEnumerable<OrtValue> Storage => _front.Concat(_back).Select(b => b.Storage).OfType<OrtValue>();

    /// <summary>The shape of one cache tensor for a batch and length.</summary>
    public long[] Shape(int batch, int length) => _planes == 2
        ? [2, batch, _heads, length, HeadSize]
        : [batch, _heads, length, HeadSize];

    /// <summary>Binds the past (front) of every tensor as the inputs of a decode step; the values go to <paramref name="owned"/>.</summary>
    public void BindPast(OrtIoBinding binding, IReadOnlyList<string> names, List<OrtValue> owned) =>
        Bind(binding, names, _front, Shape(Batch, Length), input: true, owned);

    /// <summary>Binds the back buffers as the present outputs of a decode step (one position longer).</summary>
    public void BindPresent(OrtIoBinding binding, IReadOnlyList<string> names, List<OrtValue> owned) =>
        Bind(binding, names, _back, Shape(Batch, Length + 1), input: false, owned);

    /// <summary>After a decode step: the present becomes the past.</summary>
    public void CommitStep()
    {
        Swap();
        Length++;
    }

    /// <summary>
    /// Builds a new batch from rows of the running batch and of a prefilled group (whose cache is in the same
    /// memory; a source row may be used more than once, for forked sequences), right-aligned to the longest row, and zeroes the padding (masked positions must hold finite
    /// values).
    /// </summary>
    public void Relayout(IReadOnlyList<RowSource> rows, IReadOnlyList<OrtValue>? group, int groupBatch, int groupLength)
    {
        var newBatch = rows.Count;
        var newLength = rows.Count == 0 ? 0 : rows.Max(r => r.Length);
        for (var t = 0; t < _front.Length; t++)
        {
            _back[t].EnsureCapacity((long)_planes * newBatch * _heads * newLength * _positionBytes);
            var groupData = group is null ? IntPtr.Zero : DataPointer(group[t]);
            for (var p = 0; p < _planes; p++)
            {
                for (var r = 0; r < newBatch; r++)
                {
                    var row = rows[r];
                    var (src, srcBatch, srcLength) = row.FromGroup ? (groupData, groupBatch, groupLength) : (_front[t].Pointer, Batch, Length);
                    var dstRow = _back[t].Pointer + (nint)((((long)p * newBatch) + r) * _heads * newLength * _positionBytes);
                    var srcRow = src + (nint)((((long)p * srcBatch) + row.Row) * _heads * srcLength * _positionBytes);
                    if (srcLength == newLength && row.Skip == 0 && row.Gap == 0)
                    {
                        // Same stride: the row moves whole, its padding with it (finite: zeroed here before,
                        // or computed from padding tokens by the prefill).
                        _copier.Copy(srcRow, dstRow, (long)_heads * newLength * _positionBytes);
                        continue;
                    }

                    var pad = (long)(newLength - row.Length) * _positionBytes;
                    var head = (long)row.Head * _positionBytes;
                    var tail = (long)(row.Length - row.Head) * _positionBytes;
                    for (var h = 0; h < _heads; h++)
                    {
                        var dst = dstRow + (nint)((long)h * newLength * _positionBytes);
                        var end = srcRow + (nint)((((long)h * srcLength) + (srcLength - row.Skip)) * _positionBytes);
                        _copier.Zero(dst, pad);
                        _copier.Copy(end - (nint)(tail + (row.Gap * _positionBytes) + head), dst + (nint)pad, head);
                        _copier.Copy(end - (nint)tail, dst + (nint)(pad + head), tail);
                    }
                }
            }
        }

        _copier.Flush();
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

        _copier.Dispose();
    }

    /// <summary>The address of a tensor's data, without reading it (it may be device memory).</summary>
    internal static unsafe IntPtr DataPointer(OrtValue value) =>
        (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetReference(value.GetTensorMutableRawData()));

    private void Bind(OrtIoBinding binding, IReadOnlyList<string> names, DeviceBuffer[] buffers, long[] shape, bool input, List<OrtValue> owned)
    {
        for (var t = 0; t < buffers.Length; t++)
        {
            var value = buffers[t].Wrap(Type, ElementSize, shape);
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

    private void Swap()
    {
        for (var t = 0; t < _front.Length; t++)
        {
            (_front[t], _back[t]) = (_back[t], _front[t]);
        }
    }
}
