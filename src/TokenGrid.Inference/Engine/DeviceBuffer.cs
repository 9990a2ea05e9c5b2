using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Memory from the session's cache allocator (device memory on CUDA) that ONNX Runtime reads a past from or
/// writes a present into, wrapped as OrtValues of whatever shape a step needs. It grows geometrically, up to
/// <see cref="Limit"/>, and is otherwise reused across steps, so the cache is not reallocated per step. Growth discards
/// the contents. The memory is held as one flat tensor allocated by the session's allocator, of 8-byte elements.
/// </summary>
internal sealed unsafe class DeviceBuffer(CacheMemory memory) : IDisposable
{
    private OrtValue? _storage;

    /// <summary>Start of the memory; on a device, an address only the device may dereference.</summary>
    public IntPtr Pointer { get; private set; }

    /// <summary>The tensor that holds the memory (null before the first growth).</summary>
    public OrtValue? Storage => _storage;

    public long Capacity { get; private set; }

    /// <summary>Times the memory was allocated (each growth): a few over a sequence's life, never once per step.</summary>
    public int Allocations { get; private set; }

    /// <summary>
    /// Bytes geometric growth stops at: a request above the capacity grows the buffer to twice its capacity, or to this
    /// when that is less, never to less than the request. 0: no bound. Without it, a buffer one byte short of its
    /// largest request took twice that request (measured: docs/benchmarks.md, "a pod's memory").
    /// </summary>
    public long Limit { get; set; }

    public void EnsureCapacity(long bytes)
    {
        if (bytes <= Capacity)
        {
            return;
        }

        var doubled = Limit > 0 ? Math.Min(Capacity * 2, Limit) : Capacity * 2;
        var words = (Math.Max(bytes, doubled) + 7) / 8;
        Free();
        _storage = OrtValue.CreateAllocatedTensorValue(memory.Allocator, TensorElementType.Int64, [words]);
        // The address only: the span is never read, as device memory cannot be read from here.
        Pointer = (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetReference(_storage.GetTensorMutableDataAsSpan<long>()));
        Capacity = words * 8;
        memory.OnAllocated(Capacity);
        Allocations++;
    }

    /// <summary>
    /// An OrtValue over this buffer from <paramref name="offset"/> bytes on; dispose it after the run that uses it. From
    /// the start, the buffer grows to fit; further on, it must fit already (growth would discard what is before it).
    /// </summary>
    public OrtValue Wrap(TensorElementType type, int elementSize, long[] shape, long offset = 0)
    {
        var bytes = elementSize * shape.Aggregate(1L, (a, d) => a * d);
        if (offset == 0)
        {
            EnsureCapacity(Math.Max(bytes, elementSize));
        }
        else if (offset + bytes > Capacity)
        {
            throw new InvalidOperationException($"{bytes} bytes at offset {offset} do not fit in a buffer of {Capacity}.");
        }

        return OrtValue.CreateTensorValueWithData(memory.Info, type, shape, Pointer + (nint)offset, bytes);
    }

    public void Dispose() => Free();

    private void Free()
    {
        memory.OnAllocated(-Capacity);
        _storage?.Dispose();
        _storage = null;
        Pointer = IntPtr.Zero;
        Capacity = 0;
    }
}
