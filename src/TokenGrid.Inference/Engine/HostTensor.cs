using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// A reusable managed buffer for an integer input (ids, mask, positions) in the element type the model
/// declares, int32 or int64.
/// </summary>
internal sealed class HostTensor(TensorElementType type)
{
    private long[] _longs = [];
    private int[] _ints = [];

    public void EnsureCapacity(int count)
    {
        if (type == TensorElementType.Int64 && _longs.Length < count)
        {
            _longs = new long[Math.Max(count, _longs.Length * 2)];
        }
        else if (type == TensorElementType.Int32 && _ints.Length < count)
        {
            _ints = new int[Math.Max(count, _ints.Length * 2)];
        }
    }

    public void Set(int index, long value)
    {
        if (type == TensorElementType.Int64)
        {
            _longs[index] = value;
        }
        else
        {
            _ints[index] = checked((int)value);
        }
    }

    /// <summary>An OrtValue over the first elements; dispose it after the run.</summary>
    public OrtValue Wrap(long[] shape)
    {
        var count = (int)shape.Aggregate(1L, (a, d) => a * d);
        return type == TensorElementType.Int64
            ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _longs.AsMemory(0, count), shape)
            : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _ints.AsMemory(0, count), shape);
    }
}
