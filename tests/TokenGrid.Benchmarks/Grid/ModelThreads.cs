using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Benchmarks.Grid;

/// <summary>
/// The CPU time of this process's model threads: the engines' decode loops (named from
/// <see cref="EngineOptions.ThreadName"/>, <c>tokengrid-engine</c> and the node's <c>tokengrid-engine-{device}-{model}</c>)
/// and ONNX Runtime's intra-op pools (<see cref="SessionFactory.ThreadName"/>). Everything else the process spends is
/// serving: grains, HTTP, collections, the JIT, and the benchmark's own clients. Read from Linux's per-thread
/// <c>/proc/self/task/*/schedstat</c> (nanoseconds on the CPU); zero where that is absent. A model thread that exits in a
/// round takes its time with it, which the engines here never do.
/// </summary>
internal static class ModelThreads
{
    // Linux keeps a thread's first 15 characters: "tokengrid-engine-cpu0-demo" reads "tokengrid-engin".
    private static readonly string[] s_names = [SessionFactory.ThreadName, new EngineOptions().ThreadName[..15]];

    /// <summary>The model threads' CPU time so far.</summary>
    public static TimeSpan CpuTime()
    {
        long nanoseconds = 0;
        var tasks = new DirectoryInfo("/proc/self/task");
        if (!tasks.Exists)
        {
            return TimeSpan.Zero;
        }

        foreach (var task in tasks.EnumerateDirectories())
        {
            try
            {
                var name = File.ReadAllText(Path.Combine(task.FullName, "comm")).TrimEnd('\n');
                if (!s_names.Any(n => name.StartsWith(n, StringComparison.Ordinal)))
                {
                    continue;
                }

                var stat = File.ReadAllText(Path.Combine(task.FullName, "schedstat"));
                nanoseconds += long.Parse(stat.AsSpan(0, stat.IndexOf(' ')), System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The thread exited while being read.
            }
        }

        return TimeSpan.FromTicks(nanoseconds / 100);
    }
}
