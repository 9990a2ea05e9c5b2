using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Native memory that ONNX Runtime reads inputs from or writes outputs into, wrapped as OrtValues of
/// whatever shape a step needs. It grows geometrically and is otherwise reused across steps, so the
/// cache and logits are not reallocated per step. Growth discards the contents.
/// </summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    private const nuint Alignment = 64;

    public byte* Pointer { get; private set; }

    public long Capacity { get; private set; }

    public void EnsureCapacity(long bytes)
    {
        if (bytes <= Capacity)
        {
            return;
        }

        var size = Math.Max(bytes, Capacity * 2);
        Free();
        Pointer = (byte*)NativeMemory.AlignedAlloc((nuint)size, Alignment);
        Capacity = size;
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

        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, (IntPtr)Pointer + (nint)offset, bytes);
    }

    public void Dispose() => Free();

    private void Free()
    {
        if (Pointer != null)
        {
            NativeMemory.AlignedFree(Pointer);
            Pointer = null;
            Capacity = 0;
        }
    }
}
