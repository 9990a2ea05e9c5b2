using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Runtime;

/// <summary>Thrown when CUDA was required but this build or machine cannot provide it.</summary>
public sealed class ExecutionProviderUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>A created session and the provider it runs on.</summary>
/// <param name="Session">The session; the caller owns and disposes it.</param>
/// <param name="Provider">The provider in use.</param>
/// <param name="FallbackReason">Why CUDA was not used when it was asked for, otherwise null.</param>
public sealed record CreatedSession(InferenceSession Session, ExecutionProviderKind Provider, string? FallbackReason);

/// <summary>
/// Creates ONNX Runtime sessions on the requested execution provider. The CPU package (what CI and this
/// repository build by default) has no CUDA: appending the provider throws
/// <see cref="EntryPointNotFoundException"/>, and CUDA options throw <see cref="OnnxRuntimeException"/>;
/// both mean "no CUDA here". Build with <c>-p:OnnxRuntimeGpu=true</c> to reference the GPU package.
/// </summary>
public static class SessionFactory
{
    /// <summary>Opens <paramref name="modelPath"/> by path, so external weights beside it load.</summary>
    public static CreatedSession Create(string modelPath, ExecutionProviderPreference preference, int deviceId = 0, int intraOpThreads = 0)
    {
        string? fallback = null;
        if (preference != ExecutionProviderPreference.Cpu)
        {
            var cudaOptions = NewOptions(intraOpThreads);
            try
            {
                cudaOptions.AppendExecutionProvider_CUDA(deviceId);
                return new CreatedSession(new InferenceSession(modelPath, cudaOptions), ExecutionProviderKind.Cuda, null);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or OnnxRuntimeException or DllNotFoundException)
            {
                if (preference == ExecutionProviderPreference.Cuda)
                {
                    throw new ExecutionProviderUnavailableException(
                        $"The CUDA execution provider was required for device {deviceId} but is not available: {e.Message} " +
                        "Build with -p:OnnxRuntimeGpu=true on a machine with CUDA, or configure the provider as 'auto' or 'cpu'.", e);
                }

                fallback = $"CUDA unavailable ({e.GetType().Name}: {e.Message})";
            }
            finally
            {
                cudaOptions.Dispose();
            }
        }

        using var cpuOptions = NewOptions(intraOpThreads);
        return new CreatedSession(new InferenceSession(modelPath, cpuOptions), ExecutionProviderKind.Cpu, fallback);
    }

    private static SessionOptions NewOptions(int intraOpThreads)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (intraOpThreads > 0)
        {
            options.IntraOpNumThreads = intraOpThreads;
        }

        return options;
    }
}
