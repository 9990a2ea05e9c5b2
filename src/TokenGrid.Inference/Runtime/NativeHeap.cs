using System.Runtime.InteropServices;

namespace TokenGrid.Inference.Runtime;

/// <summary>
/// Gives the C heap's free memory back to the system (glibc's <c>malloc_trim(0)</c>). glibc keeps memory that was freed
/// in its arenas for the process to reuse: after a run of short prompts, whose cache buffers and ONNX Runtime's working
/// memory are small enough to come from the arenas rather than maps of their own, a silo held about 0.2 GB of freed
/// memory with its engine idle (measured: docs/benchmarks.md, stop 53). <c>malloc_trim</c> returns the free pages of
/// every arena; what is in use stays where it is.
/// </summary>
/// <remarks>
/// Hand-written because neither .NET nor ONNX Runtime has an API for it: ONNX Runtime's arena options act on its own
/// arena, not on the C heap beneath it. glibc only: elsewhere (Windows, macOS, a musl-based image such as Alpine, which
/// has no <c>malloc_trim</c>), <see cref="TryTrim"/> does nothing.
/// </remarks>
public static partial class NativeHeap
{
    private static volatile bool s_unavailable = !OperatingSystem.IsLinux();

    /// <summary>True where the trim can run (Linux with glibc), as far as known: a failed first call turns it off.</summary>
    public static bool IsAvailable => !s_unavailable;

    /// <summary>
    /// Returns the C heap's free pages to the system. True when it ran (glibc may have found nothing to give back); false
    /// where it cannot run. Takes the heap's locks one arena at a time, for a few milliseconds over a few hundred MB:
    /// call it where the process has nothing else to do, never per step.
    /// </summary>
    public static bool TryTrim()
    {
        if (s_unavailable)
        {
            return false;
        }

        try
        {
            MallocTrim(0);
            return true;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            s_unavailable = true;
            return false;
        }
    }

    // glibc's soname on every architecture it ships for; "libc" alone would depend on how the runtime probes names.
    [LibraryImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
