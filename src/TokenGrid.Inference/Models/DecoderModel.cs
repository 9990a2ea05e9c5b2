using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Models;

/// <summary>How to open a model.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>Execution provider. Default: <see cref="ExecutionProviderPreference.Auto"/>.</summary>
    public ExecutionProviderPreference ExecutionProvider { get; init; } = ExecutionProviderPreference.Auto;

    /// <summary>CUDA device ordinal. Default: 0.</summary>
    public int DeviceId { get; init; }

    /// <summary>
    /// ONNX Runtime intra-op threads; 0 takes <c>intra_op_num_threads</c> from <c>genai_config.json</c>'s session
    /// options, or lets ONNX Runtime choose (one per physical core) when it has none. Default: 0.
    /// </summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// The nice value of ONNX Runtime's intra-op pool when the session runs on the CPU, 0 to
    /// <see cref="ThreadNiceness.Max"/>: above 0 the pool's threads yield their cores to the process's other threads
    /// first (see <see cref="ThreadNiceness"/>). The engine's decode thread keeps the process's value: it runs .NET code
    /// that may start thread-pool threads, and a thread starts with its creator's value. A CUDA session's threads keep
    /// theirs. Default: 0.
    /// </summary>
    public int CpuThreadNice { get; init; }

    /// <summary>
    /// The decoder file, relative to the model directory (or absolute), e.g. <c>onnx/model_q4.onnx</c> to pick one
    /// variant of a transformers.js folder; null lets <see cref="ModelConfigReader.FindModelFile"/> choose. The
    /// configuration is read the same way either way. Default: null.
    /// </summary>
    public string? ModelFile { get; init; }

    /// <summary>
    /// Rewrite the graph at load so that its logits hold only the last position, which is all prefill reads (see
    /// <see cref="Models.LastPositionLogits"/>); a graph it does not recognise is opened as it is. Default: true.
    /// </summary>
    public bool LastPositionLogits { get; init; } = true;
}

/// <summary>
/// One loaded decoder: its configuration, checked signature, tokenizer and the single ONNX Runtime
/// session this class owns and disposes.
/// </summary>
public sealed class DecoderModel : IDisposable
{
    private DecoderModel(DecoderModelConfig config, DecoderSignature signature, ModelTokenizer tokenizer, CreatedSession created, IReadOnlyList<ModelNote> notes, string? everyPosition)
    {
        LoadNotes = notes;
        EveryPositionLogitsReason = everyPosition;
        Config = config;
        Signature = signature;
        Tokenizer = tokenizer;
        Session = created.Session;
        Provider = created.Provider;
        ProviderFallbackReason = created.FallbackReason;
        ThreadNice = created.ThreadNice;
        ThreadNiceFailure = created.ThreadNiceFailure;
        WeightBytes = WeightBytesOf(config.ModelPath);
    }

    /// <summary>What the model is.</summary>
    public DecoderModelConfig Config { get; }

    /// <summary>Element types and names checked against the session.</summary>
    public DecoderSignature Signature { get; }

    /// <summary>The model's tokenizer.</summary>
    public ModelTokenizer Tokenizer { get; }

    /// <summary>The session. Only the engine's decode thread runs it.</summary>
    public InferenceSession Session { get; }

    /// <summary>The execution provider in use.</summary>
    public ExecutionProviderKind Provider { get; }

    /// <summary>Why CUDA was not used when it was asked for, otherwise null.</summary>
    public string? ProviderFallbackReason { get; }

    /// <summary>
    /// The nice value the session's intra-op pool runs at (see <see cref="ModelLoadOptions.CpuThreadNice"/>): 0 for a CUDA
    /// session, or when it could not be set.
    /// </summary>
    public int ThreadNice { get; }

    /// <summary>Why the nice value asked for could not be set, otherwise null (see <see cref="CreatedSession.ThreadNiceFailure"/>).</summary>
    public string? ThreadNiceFailure { get; }

    /// <summary>
    /// What loading defaulted or ignored, one note per field: session settings first, then the configuration's
    /// <see cref="DecoderModelConfig.Notes"/>. The inference engine logs each when it starts (ignored settings as
    /// warnings); other callers may log them too.
    /// </summary>
    public IReadOnlyList<ModelNote> LoadNotes { get; }

    /// <summary>
    /// Null when the graph was rewritten to compute its logits at the last position only (see
    /// <see cref="ModelLoadOptions.LastPositionLogits"/>); otherwise why it computes them at every position.
    /// </summary>
    public string? EveryPositionLogitsReason { get; }

    /// <summary>The model's name.</summary>
    public string Name => Config.Name;

    /// <summary>Bytes of the graph file and of its external data (<see cref="WeightBytesOf"/>): about what a run reads of weights.</summary>
    public long WeightBytes { get; }

    /// <summary>Loads a model directory on the requested provider.</summary>
    public static DecoderModel Load(string directory, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        var modelPath = ModelConfigReader.FindModelFile(directory, options.ModelFile);
        var settings = ModelConfigReader.ReadSessionSettings(directory, out var sessionNotes);
        var (rewritten, everyPosition) = Rewrite(modelPath, options);
        CreatedSession created;
        try
        {
            created = SessionFactory.Create(modelPath, options.ExecutionProvider, options.DeviceId, options.IntraOpThreads, settings, options.CpuThreadNice, rewritten);
        }
        catch (OnnxRuntimeException e) when (rewritten is not null)
        {
            // The rewritten graph is refused where the original is not: open the original, and say why.
            everyPosition = $"the rewritten graph did not load: {e.Message}";
            created = SessionFactory.Create(modelPath, options.ExecutionProvider, options.DeviceId, options.IntraOpThreads, settings, options.CpuThreadNice);
        }

        try
        {
            var config = ModelConfigReader.Read(directory, modelPath, created.Session);
            var signature = DecoderSignature.Resolve(config, created.Session);
            var tokenizer = TokenizerLoader.Load(directory, config.BosTokenId);
            return new DecoderModel(config, signature, tokenizer, created, [.. sessionNotes, .. config.Notes], everyPosition);
        }
        catch
        {
            created.Session.Dispose();
            throw;
        }
    }

    /// <summary>The graph rewritten to last-position logits, or null with why not.</summary>
    private static (byte[]? Rewritten, string? Why) Rewrite(string modelPath, ModelLoadOptions options)
    {
        if (!options.LastPositionLogits)
        {
            return (null, "turned off");
        }

        try
        {
            var rewritten = LastPositionLogits.TryRewriteFile(modelPath, "logits", out var why);
            return (rewritten, why);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            // ONNX Runtime reports a file that is not a model in its own words when it opens it.
            return (null, $"the graph file did not parse: {e.Message}");
        }
    }

    /// <summary>
    /// Bytes of the decoder file <paramref name="modelPath"/> and its external data beside it: files named after it
    /// (<c>model.onnx.data</c>, <c>model.onnx_data</c>) and files ending in <c>.onnx.data</c> or <c>.onnx_data</c>,
    /// except those named after another <c>.onnx</c> file there: a transformers.js <c>onnx/</c> folder holds every
    /// variant's data (<c>model_fp16.onnx_data</c>, ...) beside <c>model.onnx</c>, and only one variant is loaded.
    /// </summary>
    public static long WeightBytesOf(string modelPath)
    {
        var file = new FileInfo(modelPath);
        var total = file.Exists ? file.Length : 0;
        if (file.Directory is not { Exists: true } directory)
        {
            return total;
        }

        foreach (var other in directory.EnumerateFiles())
        {
            if (other.Name != file.Name
                && (other.Name.StartsWith(file.Name, StringComparison.Ordinal)
                    || ((other.Name.EndsWith(".onnx.data", StringComparison.Ordinal) || other.Name.EndsWith(".onnx_data", StringComparison.Ordinal))
                        && !File.Exists(Path.Combine(directory.FullName, other.Name[..^".data".Length])))))
            {
                total += other.Length;
            }
        }

        return total;
    }

    /// <summary>The first id in <paramref name="tokens"/> that the model cannot embed, or null.</summary>
    public int? FirstUnembeddableToken(IReadOnlyList<int> tokens)
    {
        foreach (var t in tokens)
        {
            if ((uint)t >= (uint)Config.VocabSize)
            {
                return t;
            }
        }

        return null;
    }

    /// <inheritdoc />
    public void Dispose() => Session.Dispose();
}
