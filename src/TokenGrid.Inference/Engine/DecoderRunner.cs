using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TokenGrid.Inference.Models;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Feeds the decoder through an <see cref="OrtIoBinding"/>: fills the integer inputs in the model's element
/// types on the host, binds the cache where the model runs (device memory on CUDA) and the logits to a host
/// buffer, and runs the session. Only ids, mask and positions go in and only logits come out per step; the
/// cache stays where the session allocated it. Used only by the decode thread.
/// </summary>
internal sealed unsafe class DecoderRunner : IDisposable
{
    private readonly DecoderModel _model;
    private readonly RunOptions _runOptions = new();
    private readonly NativeBuffer _logits = new();
    private readonly CacheMemory _memory;
    private readonly OrtIoBinding _binding;
    private readonly float[] _rowScratch;
    private readonly int _logitsElementSize;
    private readonly bool[] _useCache = new bool[1];

    /// <param name="model">The model; the caller keeps owning it.</param>
    /// <param name="copyCacheThroughRuntime">See <see cref="CacheMemory.CopyThroughRuntime"/>. Default: false.</param>
    public DecoderRunner(DecoderModel model, bool copyCacheThroughRuntime = false)
    {
        _model = model;
        var io = model.Config.Io;
        var sig = model.Signature;
        _memory = new CacheMemory(model.Session, sig.PastNames[0], copyCacheThroughRuntime);
        _binding = model.Session.CreateIoBinding();
        Cache = new KvCache(model.Config, sig, _memory);
        Ids = new HostTensor(sig.IdType);
        Mask = new HostTensor(sig.MaskType);
        Positions = new HostTensor(sig.PositionType ?? TensorElementType.Int64);
        var dims = model.Session.OutputMetadata[io.Logits].Dimensions;
        LogitsWidth = dims.Length > 0 && dims[^1] > 0 ? dims[^1] : model.Config.VocabSize;
        _logitsElementSize = sig.LogitsType == TensorElementType.Float16 ? 2 : 4;
        _rowScratch = new float[LogitsWidth];
    }

    public KvCache Cache { get; }

    /// <summary>The options every run of this runner takes (a test may terminate the runs through them).</summary>
    internal RunOptions RunOptions => _runOptions;

    /// <summary>The memory the cache lives in, from the session's allocator.</summary>
    public OrtMemoryInfo CacheMemoryInfo => _memory.Info;

    /// <summary>The cache's memory and allocator (the prefix cache's blocks live there too).</summary>
    public CacheMemory Memory => _memory;

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

    /// <summary>
    /// One decode step over the running batch, lane by lane: <paramref name="fill"/> sets a lane's inputs (its lane, its
    /// first row in the batch), then the lane runs, writing its present into the cache and its logits into the logits
    /// buffer at its rows. Without <paramref name="fill"/>, the inputs are set already and the batch is one lane.
    /// </summary>
    public void RunDecode(Action<int, int>? fill = null)
    {
        var lanes = Cache.Lanes;
        if (fill is null && lanes.Count > 1)
        {
            throw new InvalidOperationException("A batch of several lanes needs each lane's inputs set in turn.");
        }

        var rowBytes = (long)LogitsWidth * _logitsElementSize;
        _logits.EnsureCapacity(Math.Max(1, Cache.Batch * rowBytes));
        Cache.PrepareStep();
        var first = 0;
        for (var lane = 0; lane < lanes.Count; lane++)
        {
            fill?.Invoke(lane, first);
            RunLane(lane, first * rowBytes);
            first += lanes[lane].Rows;
        }

        Cache.CommitStep();
    }

    /// <summary>The logits of row <paramref name="row"/> of the latest decode step, as float32 (the runner's own memory).</summary>
    public Span<float> DecodeLogits(int row) => Row(_logits.Pointer, row);

    /// <summary>
    /// One prefill run over a group that keeps its own cache (<paramref name="past"/>, in cache memory).
    /// Returns logits followed by the presents, which ONNX Runtime allocates in cache memory; the caller
    /// disposes them. Logits come to the host only when <paramref name="logitsToHost"/> (the last chunk);
    /// otherwise they stay where the model computed them, unread.
    /// </summary>
    public IReadOnlyList<OrtValue> RunPrefill(int batch, int columns, int total, IReadOnlyList<OrtValue> past, bool logitsToHost)
    {
        var sig = _model.Signature;
        var owned = new List<OrtValue>(5);
        try
        {
            BindInputs(batch, columns, total, pastIsEmpty: total == columns, owned);
            for (var t = 0; t < past.Count; t++)
            {
                _binding.BindInput(sig.PastNames[t], past[t]);
            }

            _binding.BindOutputToDevice(_model.Config.Io.Logits, logitsToHost ? OrtMemoryInfo.DefaultInstance : _memory.Info);
            foreach (var name in sig.PresentNames)
            {
                _binding.BindOutputToDevice(name, _memory.Info);
            }

            _model.Session.RunWithBinding(_runOptions, _binding);
            _binding.SynchronizeBoundOutputs();
            // The caller takes the values over; the collection itself holds nothing else to release.
            return [.. _binding.GetOutputValues()];
        }
        finally
        {
            // The past values belong to the caller.
            Unbind();
            DisposeAll(owned);
        }
    }

    /// <summary>
    /// Past tensors of <paramref name="length"/> positions (unset), in cache memory, for a group's first prefill chunk:
    /// zero-length, or for prefixes taken from the prefix cache.
    /// </summary>
    public IReadOnlyList<OrtValue> EmptyPast(int batch, int length = 0)
    {
        var shape = Cache.Shape(batch, length);
        return [.. _model.Signature.PastNames.Select(_ =>
            OrtValue.CreateAllocatedTensorValue(_memory.Allocator, Cache.Type, shape))];
    }

    /// <summary>Logits at flat position <paramref name="index"/> (row * columns + column) of a prefill's logits.</summary>
    public Span<float> PrefillLogits(OrtValue logits, int index) =>
        Row((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(logits.GetTensorMutableRawData())), index);

    public void Dispose()
    {
        _binding.Dispose();
        Cache.Dispose();
        _memory.Dispose();
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

    private void RunLane(int lane, long logitsOffset)
    {
        var (rows, length) = Cache.Lanes[lane];
        var sig = _model.Signature;
        var owned = new List<OrtValue>(sig.PastNames.Count * 2 + 5);
        try
        {
            BindInputs(rows, 1, length + 1, pastIsEmpty: length == 0, owned);
            Cache.BindPast(lane, _binding, sig.PastNames, owned);
            var logits = _logits.Wrap(sig.LogitsType, _logitsElementSize, [rows, 1, LogitsWidth], logitsOffset);
            owned.Add(logits);
            _binding.BindOutput(_model.Config.Io.Logits, logits);
            Cache.BindPresent(lane, _binding, sig.PresentNames, owned);
            _model.Session.RunWithBinding(_runOptions, _binding);
            _binding.SynchronizeBoundOutputs();
        }
        finally
        {
            Unbind();
            DisposeAll(owned);
        }
    }

    /// <summary>Binds ids, mask, positions and the cache branch flag from host memory; the values go to <paramref name="owned"/>.</summary>
    private void BindInputs(int batch, int columns, int total, bool pastIsEmpty, List<OrtValue> owned)
    {
        var io = _model.Config.Io;
        var sig = _model.Signature;
        Bind(io.InputIds, Ids.Wrap([batch, columns]), owned);
        Bind(io.AttentionMask, Mask.Wrap([batch, total]), owned);
        if (sig.PositionIds is { } positions)
        {
            Bind(positions, Positions.Wrap([batch, columns]), owned);
        }

        if (sig.UseCacheBranch is { } useCacheBranch)
        {
            // Merged Optimum decoders: the cache branch is taken whenever there is a past.
            _useCache[0] = !pastIsEmpty;
            Bind(useCacheBranch, OrtValue.CreateTensorValueFromMemory(_useCache, [1]), owned);
        }
    }

    private void Bind(string name, OrtValue value, List<OrtValue> owned)
    {
        owned.Add(value);
        _binding.BindInput(name, value);
    }

    private void Unbind()
    {
        _binding.ClearBoundInputs();
        _binding.ClearBoundOutputs();
    }

    private Span<float> Row(byte* logits, long index)
    {
        var start = logits + (index * LogitsWidth * _logitsElementSize);
        if (_logitsElementSize == 4)
        {
            return new Span<float>(start, LogitsWidth);
        }

        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(start, LogitsWidth), _rowScratch);
        return _rowScratch;
    }
}
