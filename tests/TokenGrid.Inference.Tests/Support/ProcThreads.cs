using System.Globalization;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Inference.Tests.Support;

/// <summary>This process's threads as Linux shows them in <c>/proc/self/task</c>: by name, id and nice value.</summary>
public static class ProcThreads
{
    /// <summary>The ids of the threads named <paramref name="name"/>; a thread that exits while it is read is left out.</summary>
    public static IReadOnlyList<string> Named(string name) => new DirectoryInfo("/proc/self/task").EnumerateDirectories().Where(task =>
    {
        try
        {
            return File.ReadAllText(Path.Combine(task.FullName, "comm")).TrimEnd('\n') == name;
        }
        catch (IOException)
        {
            return false;
        }
    }).Select(task => task.Name).ToList();

    /// <summary>The calling thread's id: <c>/proc/thread-self</c> links to its <c>task</c> entry.</summary>
    /// <summary>The ids of ONNX Runtime's pool threads now running (named <see cref="SessionFactory.ThreadName"/>).</summary>
    public static IReadOnlyList<string> Ort() => Named(SessionFactory.ThreadName);

    public static string CurrentId() => new DirectoryInfo("/proc/thread-self").ResolveLinkTarget(returnFinalTarget: true)!.Name;

    /// <summary>The nice value of thread <paramref name="id"/>.</summary>
    public static int NiceOf(string id) => NiceIn(File.ReadAllText($"/proc/self/task/{id}/stat"));

    /// <summary>The nice value of thread <paramref name="id"/>, or null when it has ended since it was listed.</summary>
    public static int? TryNiceOf(string id)
    {
        try
        {
            return NiceOf(id);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The nice value of the process (its main thread).</summary>
    public static int ProcessNice() => NiceIn(File.ReadAllText("/proc/self/stat"));

    /// <summary>Field 19 of a <c>stat</c> line. The name (field 2) is in parentheses and may hold spaces, so fields are counted after it.</summary>
    private static int NiceIn(string stat)
    {
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3], CultureInfo.InvariantCulture);
    }
}
