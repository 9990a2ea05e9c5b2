using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace TokenGrid.Silo.Tests.Cluster;

/// <summary>
/// A real silo process (<c>dotnet TokenGrid.Silo.dll</c>, built by the solution build) on free ports, its output kept
/// in a bounded tail for failure messages. Disposing kills it if it still runs.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private const int TailLines = 200;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _tail = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Line)> _lineWaiters = [];
    private readonly StreamWriter? _file;

    private SiloProcess(string name, int httpPort, int siloPort, Process process, string? logFile)
    {
        Name = name;
        SiloPort = siloPort;
        if (logFile is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
            _file = new StreamWriter(logFile) { AutoFlush = true };
        }

        BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/");
        _process = process;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The silo's name (its node is <c>{Name}/cpu0</c>).</summary>
    public string Name { get; }

    /// <summary>Its Orleans silo-to-silo port.</summary>
    public int SiloPort { get; }

    /// <summary>Where its HTTP API listens.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Whether the process has exited (or was killed).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Completes with the first line the process writes from now on that <paramref name="match"/> accepts (the tail
    /// keeps only the last lines, so a line that matters is waited for, not searched for).
    /// </summary>
    public Task<string> NextLineAsync(Func<string, bool> match)
    {
        var line = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lineWaiters)
        {
            _lineWaiters.Add((match, line));
        }

        return line.Task;
    }

    /// <summary>Whether the test killed the process (set before the kill, so before any connection to it breaks).</summary>
    public bool WasKilled { get; private set; }

    /// <summary>The last lines the process wrote.</summary>
    public string Log => string.Join('\n', _tail);

    /// <summary>The silo executable (see <see cref="SiloExecutable"/>).</summary>
    public static string SiloDll => SiloExecutable.Path;

    /// <summary>
    /// Starts a silo named <paramref name="name"/> with <paramref name="settings"/> as command-line settings, its output
    /// also written to <paramref name="logFile"/> when given.
    /// </summary>
    public static SiloProcess Start(string name, IReadOnlyDictionary<string, string> settings, string? logFile = null)
    {
        var httpPort = FreePort();
        var siloPort = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(SiloDll)!,
        };
        start.ArgumentList.Add(SiloDll);
        var values = new Dictionary<string, string>(settings)
        {
            ["urls"] = $"http://127.0.0.1:{httpPort}",
            ["TokenGrid:Cluster:SiloName"] = name,
            ["TokenGrid:Cluster:SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in values)
        {
            start.ArgumentList.Add("--" + key);
            start.ArgumentList.Add(value);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        // As the image, manifests and scripts launch the silo (silo-config/README.md, "Memory"), unless the caller set it.
        start.Environment.TryAdd("MALLOC_ARENA_MAX", "2");
        return new SiloProcess(name, httpPort, siloPort, Process.Start(start) ?? throw new InvalidOperationException($"Could not start {SiloDll}."), logFile);
    }

    /// <summary>Waits until <c>/health/ready</c> answers 200; throws with the process's output when it exits or the bound passes.</summary>
    public async Task WaitReadyAsync(TimeSpan bound)
    {
        using var client = Client(null);
        client.Timeout = TimeSpan.FromSeconds(5);
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Silo {Name} exited with {_process.ExitCode}:\n{Log}");
            }

            try
            {
                using var response = await client.GetAsync("health/ready");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Silo {Name} was not ready within {bound}:\n{Log}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>A client of this silo's API with <paramref name="key"/> as its bearer key (none when null).</summary>
    public HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(90) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>Kills the process at once (as <c>kill -9</c>), with any children.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            // Set first: a client cut by this kill sees its connection fail before the exit is observed.
            WasKilled = true;
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    /// <summary>
    /// The TCP ports the process listens on: its sockets (the <c>socket:[inode]</c> links under <c>/proc/{pid}/fd</c>)
    /// found among the kernel's listening sockets (<c>/proc/net/tcp</c> and <c>tcp6</c>, state <c>0A</c>).
    /// </summary>
    public IReadOnlySet<int> ListeningPorts()
    {
        var sockets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var descriptor in Directory.GetFiles($"/proc/{_process.Id}/fd"))
        {
            try
            {
                if (new FileInfo(descriptor).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    sockets.Add(target["socket:[".Length..^1]);
                }
            }
            catch (IOException)
            {
                // Closed while being read.
            }
        }

        var ports = new HashSet<int>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields[3] == "0A" && sockets.Contains(fields[9]))
                {
                    ports.Add(Convert.ToInt32(fields[1][(fields[1].LastIndexOf(':') + 1)..], 16));
                }
            }
        }

        return ports;
    }

    /// <summary>
    /// Asks the process to stop, as Kubernetes does (<c>SIGTERM</c>), and waits up to <paramref name="bound"/> for it to
    /// exit; returns its exit code, or null when it still runs.
    /// </summary>
    public async Task<int?> TerminateAsync(TimeSpan bound)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        return await WaitForExitAsync(bound);
    }

    /// <summary>Waits up to <paramref name="bound"/> for the process to exit; returns its exit code, or null when it still runs.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan bound)
    {
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        lock (_tail)
        {
            _file?.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _tail.Enqueue(line);
        lock (_lineWaiters)
        {
            foreach (var waiter in _lineWaiters.Where(w => w.Match(line)).ToList())
            {
                _lineWaiters.Remove(waiter);
                waiter.Line.TrySetResult(line);
            }
        }

        lock (_tail)
        {
            try
            {
                // Stamped as it arrives, so a slow test's log shows where its time went.
                _file?.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
            }
            catch (ObjectDisposedException)
            {
                // The process is being disposed.
            }
        }

        while (_tail.Count > TailLines && _tail.TryDequeue(out _))
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
