using System.Runtime.InteropServices;

namespace TokenGrid.Inference.Runtime;

/// <summary>
/// Lowers the calling thread's scheduling priority by raising its nice value, so that the threads of a CPU model yield
/// their cores to the rest of the process first. On Linux a nice value belongs to one thread, not to the process, and a
/// thread starts with the value of the thread that created it, so ONNX Runtime's intra-op pool takes the value of the
/// thread that creates the session.
/// </summary>
/// <remarks>
/// Hand-written because .NET has no API for it: <see cref="Thread.Priority"/> has no effect on Linux. Raising a thread's
/// own nice value needs no privilege. Inside a container or a systemd unit the value orders only the process's own
/// threads (and others of its cgroup); other workloads on the machine are weighed by their cgroups.
/// </remarks>
public static partial class ThreadNiceness
{
    /// <summary>The highest nice value (the lowest priority) Linux has.</summary>
    public const int Max = 19;

    /// <summary>
    /// Sets the calling thread's nice value to <paramref name="nice"/> (1 to <see cref="Max"/>; 0 leaves the thread as it
    /// is). Returns null when it was set or nothing was asked, else why it was not (not Linux, or the call failed).
    /// </summary>
    public static string? TrySet(int nice)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nice);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nice, Max);
        if (nice == 0)
        {
            return null;
        }

        if (!OperatingSystem.IsLinux())
        {
            return "thread nice values are set on Linux only";
        }

        return TrySet(nice, GetTid());
    }

    /// <summary>
    /// Sets thread <paramref name="threadId"/>'s nice value (Linux only); null when it was set, else the error
    /// <c>setpriority</c> gave, by number and by libc's message (e.g. EACCES when the process already runs at a higher
    /// value and may not lower it).
    /// </summary>
    internal static string? TrySet(int nice, int threadId)
    {
        if (SetPriority(PrioProcess, threadId, nice) == 0)
        {
            return null;
        }

        var errno = Marshal.GetLastPInvokeError();
        return $"setpriority({nice}) failed with errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)}";
    }

    /// <summary>setpriority's <c>which</c> for one thread (Linux takes a thread id there).</summary>
    private const int PrioProcess = 0;

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int prio);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
