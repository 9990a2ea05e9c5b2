using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Memory that ONNX Runtime reads a past from or writes a present into, wrapped as OrtValues of whatever shape a step
/// needs. It grows geometrically, up to <see cref="Limit"/>, and is otherwise reused across steps, so the cache is not
/// reallocated per step; <see cref="Fit"/> gives back what a smaller batch no longer needs. Growth discards the contents.
/// On a device (CUDA) the memory is one flat tensor of 8-byte elements from the session's allocator. On the host it is
/// native memory of its own, outside ONNX Runtime's CPU arena: the arena keeps every block it was ever given, so a buffer
/// that grew left its smaller predecessors there, held by the process for good (measured: docs/benchmarks.md, "The CPU
/// arena"); native memory this size goes back to the system when freed.
/// </summary>
internal sealed unsafe class DeviceBuffer(CacheMemory memory) : IDisposable
{
    /// <summary>Host buffers start on this boundary (a cache lane's alignment; ONNX Runtime's CPU kernels ask for 64).</summary>
    private const nuint HostAlignment = 256;

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
        Allocate(Math.Max(bytes, doubled));
    }

    /// <summary>
    /// Gives back memory a smaller batch no longer needs: when <paramref name="bytes"/> (what the next run takes) is under
    /// a quarter of the capacity, the buffer is reallocated at twice that (at most <see cref="Limit"/>), or freed when it
    /// is 0. The quarter leaves room to grow back by doubling before the next shrink, so a batch whose size swings does
    /// not reallocate every step. Discards the contents, like growth: call it only where they are rewritten.
    /// </summary>
    public void Fit(long bytes)
    {
        if (Capacity == 0 || (bytes > 0 && bytes >= Capacity / 4))
        {
            return;
        }

        Free();
        if (bytes > 0)
        {
            Allocate(Limit > 0 ? Math.Max(bytes, Math.Min(bytes * 2, Limit)) : bytes * 2);
        }
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

    private void Allocate(long bytes)
    {
        var words = (bytes + 7) / 8;
        Free();
        if (memory.IsHost)
        {
            Pointer = (IntPtr)NativeMemory.AlignedAlloc((nuint)(words * 8), HostAlignment);
            _storage = OrtValue.CreateTensorValueWithData(memory.Info, TensorElementType.Int64, [words], Pointer, words * 8);
        }
        else
        {
            _storage = OrtValue.CreateAllocatedTensorValue(memory.Allocator, TensorElementType.Int64, [words]);
            // The address only: the span is never read, as device memory cannot be read from here.
            Pointer = (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetReference(_storage.GetTensorMutableDataAsSpan<long>()));
        }

        Capacity = words * 8;
        memory.OnAllocated(Capacity);
        Allocations++;
    }

    private void Free()
    {
        memory.OnAllocated(-Capacity);
        _storage?.Dispose();
        _storage = null;
        if (memory.IsHost && Pointer != IntPtr.Zero)
        {
            NativeMemory.AlignedFree((void*)Pointer);
        }

        Pointer = IntPtr.Zero;
        Capacity = 0;
    }
}
