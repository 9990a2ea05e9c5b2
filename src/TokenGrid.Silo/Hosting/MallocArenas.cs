using System.Runtime.InteropServices;

namespace TokenGrid.Silo.Hosting;

/// <summary>What <see cref="MallocArenas.Cap"/> did.</summary>
internal enum MallocArenaCap
{
    /// <summary>glibc now gives new threads one of at most <see cref="MallocArenas.Default"/> arenas.</summary>
    Capped,

    /// <summary>The operator set <see cref="MallocArenas.EnvironmentVariable"/>, which glibc read at process start: left as set.</summary>
    OperatorSet,

    /// <summary>Not Linux with glibc (or glibc refused): nothing changed.</summary>
    Unsupported,
}

/// <summary>
/// Caps glibc's malloc arenas for the silo's process at <see cref="Default"/>, unless the operator set
/// <c>MALLOC_ARENA_MAX</c>. glibc gives threads that allocate natively (ONNX Runtime's, the thread pool's, Npgsql's
/// sockets) arenas of their own, up to 8 per core of the host (a container's CPU limit does not lower that), and an arena
/// keeps the most it ever held: in a 10-minute soak the silo's native memory grew by 40 MB as new threads took new
/// arenas, and stayed flat with 2 (docs/benchmarks.md, issue 15). The engine and grid benchmarks read the same with and
/// without the cap.
/// </summary>
/// <remarks>
/// A call rather than the environment variable in the image: the silo is also started by <c>dotnet run</c>, scripts and
/// platform teams' own images, and glibc reads the variable only at process start. <c>mallopt</c> affects the arenas
/// made after the call; the few made before it stay.
/// </remarks>
internal static class MallocArenas
{
    /// <summary>The environment variable glibc reads at process start.</summary>
    public const string EnvironmentVariable = "MALLOC_ARENA_MAX";

    /// <summary>The arenas the silo keeps when the operator sets none.</summary>
    public const int Default = 2;

    private const int ArenaMaxParameter = -8; // M_ARENA_MAX in glibc's malloc.h

    /// <summary>Caps the arenas unless <paramref name="environment"/> gives <see cref="EnvironmentVariable"/>.</summary>
    public static MallocArenaCap Cap(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (!string.IsNullOrEmpty(environment(EnvironmentVariable)))
        {
            return MallocArenaCap.OperatorSet;
        }

        if (!OperatingSystem.IsLinux())
        {
            return MallocArenaCap.Unsupported;
        }

        try
        {
            return MallOpt(ArenaMaxParameter, Default) == 1 ? MallocArenaCap.Capped : MallocArenaCap.Unsupported;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl and other C libraries: no glibc arenas to cap.
            return MallocArenaCap.Unsupported;
        }
    }

    // libc.so.6 by name: "libc.so" is a linker script on Debian, which dlopen cannot load. DllImport rather than
    // LibraryImport, whose generated stub needs unsafe code in this project; two ints need no marshalling either way.
    [DllImport("libc.so.6", EntryPoint = "mallopt", ExactSpelling = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallOpt(int parameter, int value);
}
