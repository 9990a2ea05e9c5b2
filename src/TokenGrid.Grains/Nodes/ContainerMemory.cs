using System.Globalization;

namespace TokenGrid.Grains.Nodes;

/// <summary>
/// The memory limit of the container the silo runs in (a Kubernetes pod's <c>resources.limits.memory</c>), as its cgroup
/// states it, and the node budget taken from it when <see cref="NodeOptions.MemoryBudgetBytes"/> is not set. The .NET
/// runtime reads the same files for its GC, but exposes only the smaller of the limit and the machine's memory, which
/// cannot tell a limit from none; hence this reader.
/// </summary>
public static class ContainerMemory
{
    /// <summary>Where the cgroup file system is mounted.</summary>
    public const string CgroupRoot = "/sys/fs/cgroup";

    /// <summary>What the silo keeps outside the models in every container: the runtime, Orleans, HTTP, ONNX Runtime's own work memory.</summary>
    public const long BaseReserveBytes = 768L << 20;

    /// <summary>
    /// The container's memory limit in bytes, or null when there is none: cgroup v2's <c>memory.max</c> (<c>max</c>: none),
    /// else cgroup v1's <c>memory/memory.limit_in_bytes</c> (a value near 2^63: none), under <paramref name="root"/>.
    /// </summary>
    public static long? Limit(string root = CgroupRoot)
    {
        var v2 = Read(Path.Combine(root, "memory.max"));
        if (v2 is not null)
        {
            return v2 == "max" ? null : Parse(v2);
        }

        return Read(Path.Combine(root, "memory", "memory.limit_in_bytes")) is { } v1 ? Parse(v1) : null;
    }

    /// <summary>
    /// What the silo keeps for itself out of a container limit of <paramref name="limitBytes"/>: <see cref="BaseReserveBytes"/>
    /// plus a tenth of the limit (the runtime's heap and the engines' work memory grow with the load the limit is sized for).
    /// </summary>
    public static long ReserveBytes(long limitBytes) => BaseReserveBytes + (limitBytes / 10);

    /// <summary>
    /// The budget of each of <paramref name="cpuNodes"/> CPU nodes in a container of <paramref name="limitBytes"/>: the limit
    /// less <see cref="ReserveBytes"/>, shared equally; at least 1 byte, so that a container too small for anything refuses
    /// models with the reason rather than running unlimited.
    /// </summary>
    public static long BudgetBytes(long limitBytes, int cpuNodes) =>
        Math.Max(1, (limitBytes - ReserveBytes(limitBytes)) / Math.Max(1, cpuNodes));

    private static string? Read(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A limit in bytes; null for none (cgroup v1 writes a page-aligned 2^63 − 1) or what does not parse.</summary>
    private static long? Parse(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes > 0 && bytes < (1L << 60) ? bytes : null;
}
