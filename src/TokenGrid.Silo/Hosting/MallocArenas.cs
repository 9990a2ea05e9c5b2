namespace TokenGrid.Silo.Hosting;

/// <summary>
/// glibc's malloc arenas, which the silo's launchers cap with <c>MALLOC_ARENA_MAX=2</c> (the image, the Kubernetes
/// manifests, <c>dotnet run</c>'s launch profile, the scripts and the tests' silo processes). glibc gives threads that
/// allocate outside the managed heap (ONNX Runtime's, sockets') arenas of their own, up to 8 per core of the host (a
/// container's CPU limit does not lower that), and an arena keeps the most it ever held: in a 10-minute soak the silo's
/// native memory grew by 40 MB without the cap and by 4 MB with it (docs/benchmarks.md, issue 15).
/// </summary>
/// <remarks>
/// glibc reads the variable once, when the process starts, so the silo cannot set it for itself: a <c>mallopt</c> call
/// from <c>Main</c> was tried and changed nothing measurable, since the runtime's threads have made their arenas by then.
/// The silo only says at startup which applies.
/// </remarks>
internal static class MallocArenas
{
    /// <summary>The environment variable glibc reads at process start.</summary>
    public const string EnvironmentVariable = "MALLOC_ARENA_MAX";

    /// <summary>The value the launchers set.</summary>
    public const string Recommended = "2";

    /// <summary>
    /// What to log at startup: the value in force, or (on Linux, where glibc's arenas apply, with the variable unset)
    /// a warning that native memory may grow. Null warning: nothing to warn about.
    /// </summary>
    public static (string Status, string? Warning) Describe(Func<string, string?> environment, bool isLinux)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment(EnvironmentVariable) is { Length: > 0 } value)
        {
            return ($"{EnvironmentVariable}={value}", null);
        }

        return !isLinux
            ? ($"{EnvironmentVariable} unset (not Linux)", null)
            : ($"{EnvironmentVariable} unset", $"{EnvironmentVariable} is not set: glibc gives threads up to 8 malloc arenas per core of the host and the silo's native memory grows with them; the image, manifests and scripts set {EnvironmentVariable}={Recommended} (silo-config/README.md, \"Memory\").");
    }
}
