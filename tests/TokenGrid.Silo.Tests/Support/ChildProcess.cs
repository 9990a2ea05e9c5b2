using System.Diagnostics;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>Runs a tool to its end and returns its exit code and both outputs, read concurrently so neither pipe fills.</summary>
public static class ChildProcess
{
    /// <param name="file">The tool.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="workingDirectory">Where it runs; null: here.</param>
    /// <param name="unset">Environment variables the tool must not inherit.</param>
    public static async Task<(int Code, string Output, string Error)> RunAsync(
        string file, IEnumerable<string> arguments, string? workingDirectory = null, IEnumerable<string>? unset = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (var name in unset ?? [])
        {
            start.Environment.Remove(name);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
