using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Where the key/value cache lives: the allocator of the session for the memory its past inputs are read
/// from (CUDA memory when the session runs on CUDA, CPU memory otherwise). Owns that allocator; every
/// allocation made from it must be disposed first.
/// </summary>
internal sealed class CacheMemory : IDisposable
{
    /// <param name="session">The decoder session.</param>
    /// <param name="pastName">A past input; the session reports the memory it reads that input from.</param>
    /// <param name="copyThroughRuntime">
    /// Copy cache blocks through ONNX Runtime's data transfer even when the memory is the host's, as device
    /// memory requires. Default: false (host memory is copied directly).
    /// </param>
    public CacheMemory(InferenceSession session, string pastName, bool copyThroughRuntime = false)
    {
        var index = IndexOf(session.InputNames, pastName);
        using var infos = session.GetMemoryInfosForInputs();
        Allocator = new OrtAllocator(session, infos[index]);
        Info = Allocator.Info;
        IsHost = Info.GetDeviceType() == OrtMemoryInfoDeviceType.CPU;
        CopyThroughRuntime = copyThroughRuntime || !IsHost;
    }

    /// <summary>The session's allocator for the cache's memory.</summary>
    public OrtAllocator Allocator { get; }

    /// <summary>
    /// The cache's memory, read once: each read of <see cref="OrtAllocator.Info"/> wraps the allocator's own (which this
    /// does not own) in a new finalizable handle, and bindings ask for it every step.
    /// </summary>
    public OrtMemoryInfo Info { get; }

    /// <summary>True when the cache is in host memory (the CPU provider).</summary>
    public bool IsHost { get; }

    /// <summary>True when cache blocks are moved with ONNX Runtime's tensor copies rather than by the CPU.</summary>
    public bool CopyThroughRuntime { get; }

    /// <summary>
    /// Bytes the engine's cache buffers hold now (the running batch's two copies and the prefix cache's pools), as they
    /// were allocated: what the cache takes of the node's memory. Read from any thread.
    /// </summary>
    public long AllocatedBytes => Interlocked.Read(ref _allocatedBytes);

    private long _allocatedBytes;

    /// <summary>Counts a buffer's allocation (positive) or release (negative).</summary>
    internal void OnAllocated(long bytes) => Interlocked.Add(ref _allocatedBytes, bytes);

    public void Dispose() => Allocator.Dispose();

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }

        throw new ArgumentException($"The session has no input '{name}'.", nameof(name));
    }
}
