using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.DemoModel.Onnx;
using DataType = TokenGrid.Inference.DemoModel.Onnx.TensorProto.Types.DataType;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Copies blocks of bytes where the cache lives, with a session of <see cref="Slots"/> Identity nodes on the
/// cache's provider: each block is bound as an input view and an output view, so the provider's own copy
/// kernel moves it (device to device on CUDA; a host source, such as zeros, is uploaded at binding).
/// ONNX Runtime's <see cref="OrtEnv.CopyTensors"/> would be the direct call, but it only knows the data
/// transfers of execution provider libraries registered with the environment, not the CPU's or CUDA's.
/// </summary>
internal sealed class BlockCopySession : IDisposable
{
    /// <summary>Blocks copied per run; unused slots get empty tensors.</summary>
    public const int Slots = 64;

    private readonly CacheMemory _memory;
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();

    public BlockCopySession(CacheMemory memory)
    {
        _memory = memory;
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        if (!memory.IsHost)
        {
            options.AppendExecutionProvider_CUDA(memory.Info.Id);
        }

        _session = new InferenceSession(Graph().ToByteArray(), options);
        _binding = _session.CreateIoBinding();
    }

    /// <summary>Copies every block; complete when it returns.</summary>
    public void Copy(IReadOnlyList<(OrtMemoryInfo FromInfo, IntPtr From, IntPtr To, long Bytes)> blocks)
    {
        for (var start = 0; start < blocks.Count; start += Slots)
        {
            var owned = new List<OrtValue>(2 * Slots);
            try
            {
                for (var s = 0; s < Slots; s++)
                {
                    var (fromInfo, from, to, bytes) = start + s < blocks.Count
                        ? blocks[start + s]
                        : (_memory.Info, blocks[start].To, blocks[start].To, 0L);
                    var source = OrtValue.CreateTensorValueWithData(fromInfo, TensorElementType.UInt8, [bytes], from, bytes);
                    owned.Add(source);
                    _binding.BindInput(Name("x", s), source);
                    var target = OrtValue.CreateTensorValueWithData(_memory.Info, TensorElementType.UInt8, [bytes], to, bytes);
                    owned.Add(target);
                    _binding.BindOutput(Name("y", s), target);
                }

                _session.RunWithBinding(_runOptions, _binding);
                _binding.SynchronizeBoundOutputs();
            }
            finally
            {
                _binding.ClearBoundInputs();
                _binding.ClearBoundOutputs();
                DecoderRunner.DisposeAll(owned);
            }
        }
    }

    public void Dispose()
    {
        _binding.Dispose();
        _session.Dispose();
        _runOptions.Dispose();
    }

    private static string Name(string prefix, int slot) => prefix + slot.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static ModelProto Graph()
    {
        var graph = new OnnxGraph("tokengrid_block_copy");
        for (var s = 0; s < Slots; s++)
        {
            var input = graph.Input(Name("x", s), DataType.Uint8, Name("n", s));
            graph.Node("Identity", [input], Name("y", s));
            graph.Output(Name("y", s), DataType.Uint8, Name("n", s));
        }

        var model = new ModelProto { IrVersion = 8, ProducerName = "TokenGrid.BlockCopySession", Graph = graph.Proto };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }
}
