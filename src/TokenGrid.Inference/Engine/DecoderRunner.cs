using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TokenGrid.Inference.Models;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Feeds the decoder: fills the integer inputs in the model's element types, wraps the cache and the
/// logits buffer, and runs the session. Used only by the decode thread.
/// </summary>
internal sealed unsafe class DecoderRunner : IDisposable
{
    private readonly DecoderModel _model;
    private readonly RunOptions _runOptions = new();
    private readonly NativeBuffer _logits = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly float[] _rowScratch;
    private readonly int _logitsElementSize;
    private readonly bool[] _useCache = new bool[1];

    public DecoderRunner(DecoderModel model)
    {
        _model = model;
        var io = model.Config.Io;
        var sig = model.Signature;
        Cache = new KvCache(model.Config, sig);
        Ids = new HostTensor(sig.IdType);
        Mask = new HostTensor(sig.MaskType);
        Positions = new HostTensor(sig.PositionType ?? TensorElementType.Int64);
        var dims = model.Session.OutputMetadata[io.Logits].Dimensions;
        LogitsWidth = dims.Length > 0 && dims[^1] > 0 ? dims[^1] : model.Config.VocabSize;
        _logitsElementSize = sig.LogitsType == TensorElementType.Float16 ? 2 : 4;
        _rowScratch = new float[LogitsWidth];
        _inputNames = [io.InputIds, io.AttentionMask, .. Optional(sig.PositionIds), .. Optional(sig.UseCacheBranch), .. sig.PastNames];
        _outputNames = [io.Logits, .. sig.PresentNames];
    }

    public KvCache Cache { get; }

    public HostTensor Ids { get; }

    public HostTensor Mask { get; }

    public HostTensor Positions { get; }

    /// <summary>Length of one logits row (the model's output vocabulary).</summary>
    public int LogitsWidth { get; }

    /// <summary>Sizes the integer inputs for a run of <paramref name="batch"/> rows.</summary>
    public void Prepare(int batch, int columns, int total)
    {
        Ids.EnsureCapacity(batch * columns);
        Positions.EnsureCapacity(batch * columns);
        Mask.EnsureCapacity(batch * total);
    }

    /// <summary>One decode step over the running batch: writes present into the cache and logits into the logits buffer.</summary>
    public void RunDecode()
    {
        var batch = Cache.Batch;
        var inputs = Inputs(batch, 1, Cache.Length + 1, pastIsEmpty: Cache.Length == 0);
        Cache.AddPast(inputs);
        var outputs = new List<OrtValue>(_outputNames.Length)
        {
            _logits.Wrap(_model.Signature.LogitsType, _logitsElementSize, [batch, 1, LogitsWidth]),
        };
        Cache.AddPresent(outputs);
        try
        {
            _model.Session.Run(_runOptions, _inputNames, inputs, _outputNames, outputs);
        }
        finally
        {
            DisposeAll(inputs);
            DisposeAll(outputs);
        }

        Cache.CommitStep();
    }

    /// <summary>The logits of row <paramref name="row"/> of the latest decode step, as float32.</summary>
    public ReadOnlySpan<float> DecodeLogits(int row) => Row(_logits.Pointer, row);

    /// <summary>
    /// One prefill run over a group that keeps its own cache (<paramref name="past"/>, owned by ONNX Runtime).
    /// Returns logits followed by the presents; the caller disposes them.
    /// </summary>
    public IReadOnlyList<OrtValue> RunPrefill(int batch, int columns, int total, IReadOnlyList<OrtValue> past)
    {
        var inputs = Inputs(batch, columns, total, pastIsEmpty: total == columns);
        inputs.AddRange(past);
        try
        {
            return [.. _model.Session.Run(_runOptions, _inputNames, inputs, _outputNames)];
        }
        finally
        {
            // The past values belong to the caller.
            DisposeAll(inputs.Take(inputs.Count - past.Count));
        }
    }

    /// <summary>Zero-length past tensors for a group's first prefill chunk.</summary>
    public IReadOnlyList<OrtValue> EmptyPast(int batch)
    {
        var shape = Cache.Shape(batch, 0);
        return [.. _model.Signature.PastNames.Select(_ =>
            OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, Cache.Type, shape))];
    }

    /// <summary>Logits at flat position <paramref name="index"/> (row * columns + column) of a prefill's logits.</summary>
    public ReadOnlySpan<float> PrefillLogits(OrtValue logits, int index) =>
        Row((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(logits.GetTensorMutableRawData())), index);

    public void Dispose()
    {
        Cache.Dispose();
        _logits.Dispose();
        _runOptions.Dispose();
    }

    internal static void DisposeAll(IEnumerable<OrtValue> values)
    {
        foreach (var v in values)
        {
            v.Dispose();
        }
    }

    private List<OrtValue> Inputs(int batch, int columns, int total, bool pastIsEmpty)
    {
        var inputs = new List<OrtValue>(_inputNames.Length)
        {
            Ids.Wrap([batch, columns]),
            Mask.Wrap([batch, total]),
        };
        if (_model.Signature.PositionIds is not null)
        {
            inputs.Add(Positions.Wrap([batch, columns]));
        }

        if (_model.Signature.UseCacheBranch is not null)
        {
            // Merged Optimum decoders: the cache branch is taken whenever there is a past.
            _useCache[0] = !pastIsEmpty;
            inputs.Add(OrtValue.CreateTensorValueFromMemory(_useCache, [1]));
        }

        return inputs;
    }

    private ReadOnlySpan<float> Row(byte* logits, long index)
    {
        var start = logits + (index * LogitsWidth * _logitsElementSize);
        if (_logitsElementSize == 4)
        {
            return new ReadOnlySpan<float>(start, LogitsWidth);
        }

        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(start, LogitsWidth), _rowScratch);
        return _rowScratch;
    }

    private static IEnumerable<string> Optional(string? name) => name is null ? [] : [name];
}
