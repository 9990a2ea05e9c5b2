using System.Runtime.ExceptionServices;
using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Runtime;

/// <summary>Thrown when CUDA was required but this build or machine cannot provide it.</summary>
public sealed class ExecutionProviderUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>A created session and the provider it runs on.</summary>
/// <param name="Session">The session; the caller owns and disposes it.</param>
/// <param name="Provider">The provider in use.</param>
/// <param name="FallbackReason">Why CUDA was not used when it was asked for, otherwise null.</param>
/// <param name="ThreadNice">The nice value the session's threads run at; 0 when none was asked for or it could not be set.</param>
/// <param name="ThreadNiceFailure">Why the nice value asked for could not be set (the threads then run at the process's), otherwise null.</param>
public sealed record CreatedSession(
    InferenceSession Session, ExecutionProviderKind Provider, string? FallbackReason, int ThreadNice = 0, string? ThreadNiceFailure = null);

/// <summary>
/// Creates ONNX Runtime sessions on the requested execution provider. "No CUDA here" shows in three ways,
/// all handled alike: the GPU package (the default build) on a machine without CUDA throws
/// <see cref="OnnxRuntimeException"/> ("Failed to load shared library") when the provider is appended; the CPU
/// package (<c>-p:OnnxRuntimeFlavor=cpu</c>) throws <see cref="EntryPointNotFoundException"/> there, and
/// <see cref="OnnxRuntimeException"/> for CUDA options; a missing native library throws <see cref="DllNotFoundException"/>.
/// </summary>
public static class SessionFactory
{
    /// <summary>Opens <paramref name="modelPath"/> by path, so external weights beside it load.</summary>
    /// <param name="modelPath">The <c>.onnx</c> file.</param>
    /// <param name="preference">Which provider to use.</param>
    /// <param name="deviceId">CUDA device ordinal.</param>
    /// <param name="intraOpThreads">Intra-op threads; 0 leaves the choice to <paramref name="settings"/>, then to ONNX Runtime.</param>
    /// <param name="settings">Session settings from the model directory. Default: none.</param>
    /// <param name="cpuThreadNice">
    /// The nice value of the session's threads when it runs on the CPU (see <see cref="ThreadNiceness"/>); 0 leaves them
    /// at the creating process's. A CUDA session's threads keep theirs: they feed the device. Default: 0.
    /// </param>
    /// <param name="modelBytes">
    /// A rewritten graph to open instead of the file (see <see cref="Models.LastPositionLogits"/>); its external data is
    /// read from the file's folder, under the same rules as a load by path. Default: null (the file).
    /// </param>
    public static CreatedSession Create(
        string modelPath, ExecutionProviderPreference preference, int deviceId = 0, int intraOpThreads = 0, SessionSettings? settings = null,
        int cpuThreadNice = 0, byte[]? modelBytes = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cpuThreadNice);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cpuThreadNice, ThreadNiceness.Max);
        settings ??= SessionSettings.None;
        string? fallback = null;
        if (preference != ExecutionProviderPreference.Cpu)
        {
            var cudaOptions = NewOptions(intraOpThreads, settings);
            try
            {
                AppendCuda(cudaOptions, deviceId, settings, quiet: preference == ExecutionProviderPreference.Auto);
                return new CreatedSession(Open(modelPath, modelBytes, cudaOptions, nice: 0).Session, ExecutionProviderKind.Cuda, null);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or OnnxRuntimeException or DllNotFoundException)
            {
                if (preference == ExecutionProviderPreference.Cuda)
                {
                    throw new ExecutionProviderUnavailableException(
                        $"The CUDA execution provider was required for device {deviceId} but is not available: {e.Message} " +
                        "Run on a machine with CUDA 13 and cuDNN 9 and the default (gpu) build, or configure the provider as 'auto' or 'cpu'.", e);
                }

                fallback = $"CUDA unavailable ({e.GetType().Name}: {e.Message})";
            }
            finally
            {
                cudaOptions.Dispose();
            }
        }

        using var cpuOptions = NewOptions(intraOpThreads, settings);
        var (session, nice, niceFailure) = Open(modelPath, modelBytes, cpuOptions, cpuThreadNice);
        return new CreatedSession(session, ExecutionProviderKind.Cpu, fallback, nice, niceFailure);
    }

    /// <summary>The name ONNX Runtime's own threads (the intra-op pool) carry, as <c>top -H</c>, <c>perf</c> and <c>/proc</c> show them.</summary>
    public const string ThreadName = "tokengrid-ort";

    /// <summary>
    /// Creates the session on a thread of its own named <see cref="ThreadName"/>. ONNX Runtime starts its intra-op pool
    /// as the session is created, and on Linux a new thread takes its creator's name: created from a thread-pool thread,
    /// the pool's workers would pass for .NET's own (".NET TP Worker"), and a profile of a busy node would blame the
    /// thread pool for the model's compute. The pool's threads also take this thread's <paramref name="nice"/> value;
    /// returns the value they have (0 when it could not be set, with why).
    /// </summary>
    private static (InferenceSession Session, int Nice, string? NiceFailure) Open(string modelPath, byte[]? modelBytes, SessionOptions options, int nice)
    {
        InferenceSession? session = null;
        ExceptionDispatchInfo? failure = null;
        string? niceFailure = null;
        var thread = new Thread(() =>
        {
            try
            {
                niceFailure = ThreadNiceness.TrySet(nice);
                if (modelBytes is null)
                {
                    session = new InferenceSession(modelPath, options);
                }
                else
                {
                    // A rewritten graph held in memory: without this setting ONNX Runtime would look for its external data in
                    // the working directory.
                    options.AddSessionConfigEntry(
                        "session.model_external_initializers_file_folder_path", Path.GetDirectoryName(Path.GetFullPath(modelPath))!);
                    session = new InferenceSession(modelBytes, options);
                }
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = ThreadName,
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return (session!, niceFailure is null ? nice : 0, niceFailure);
    }

    /// <summary>
    /// Appends the CUDA provider. <paramref name="quiet"/> (auto: trying CUDA, falling back to the CPU) holds ONNX
    /// Runtime's own log to fatal errors meanwhile: without CUDA it would print its failure to load the provider's library
    /// as an error, which reads as a failed start, while the fallback and its reason are reported on their own.
    /// </summary>
    private static void AppendCuda(SessionOptions options, int deviceId, SessionSettings settings, bool quiet)
    {
        var env = OrtEnv.Instance();
        var level = env.EnvLogLevel;
        if (quiet)
        {
            env.EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        }

        try
        {
            if (settings.CudaOptions.Count == 0)
            {
                options.AppendExecutionProvider_CUDA(deviceId);
                return;
            }

            using var cuda = new OrtCUDAProviderOptions();
            var values = new Dictionary<string, string>(settings.CudaOptions)
            {
                ["device_id"] = deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            cuda.UpdateOptions(values);
            options.AppendExecutionProvider_CUDA(cuda);
        }
        finally
        {
            if (quiet)
            {
                env.EnvLogLevel = level;
            }
        }
    }

    private static SessionOptions NewOptions(int intraOpThreads, SessionSettings settings)
    {
        var options = new SessionOptions { GraphOptimizationLevel = settings.GraphOptimizationLevel ?? GraphOptimizationLevel.ORT_ENABLE_ALL };
        try
        {
            Apply(options, intraOpThreads, settings);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    private static void Apply(SessionOptions options, int intraOpThreads, SessionSettings settings)
    {
        if ((intraOpThreads > 0 ? intraOpThreads : settings.IntraOpThreads) is { } intra and > 0)
        {
            options.IntraOpNumThreads = intra;
        }

        if (settings.InterOpThreads is { } inter and > 0)
        {
            options.InterOpNumThreads = inter;
        }

        if (settings.LogSeverityLevel is { } severity)
        {
            options.LogSeverityLevel = (OrtLoggingLevel)severity;
        }

        if (settings.LogVerbosityLevel is { } verbosity)
        {
            options.LogVerbosityLevel = verbosity;
        }

        if (settings.LogId is { } logId)
        {
            options.LogId = logId;
        }

        if (settings.EnableCpuMemArena is { } arena)
        {
            options.EnableCpuMemArena = arena;
        }

        if (settings.EnableMemoryPattern is { } pattern)
        {
            options.EnableMemoryPattern = pattern;
        }

        foreach (var (key, value) in settings.ConfigEntries)
        {
            options.AddSessionConfigEntry(key, value);
        }

        if (settings.CustomOpsLibrary is { } library)
        {
            options.RegisterCustomOpLibrary(library);
        }
    }
}
