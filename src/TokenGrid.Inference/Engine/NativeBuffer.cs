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

    /// <summary>An OrtValue over the start of this buffer; dispose it after the run that uses it.</summary>
    public OrtValue Wrap(TensorElementType type, int elementSize, long[] shape)
    {
        var bytes = elementSize * shape.Aggregate(1L, (a, d) => a * d);
        EnsureCapacity(Math.Max(bytes, elementSize));
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, (IntPtr)Pointer, bytes);
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
