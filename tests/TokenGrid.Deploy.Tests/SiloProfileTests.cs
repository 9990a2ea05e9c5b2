using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Npgsql;
using TokenGrid.Deploy.Tests.Support;

namespace TokenGrid.Deploy.Tests;

/// <summary>The real silo process with the kubernetes profile: outside a pod it stops at once and says why; the
/// published app starts with the image's profile.</summary>
public sealed class SiloProfileTests
{
    /// <summary>Everything a pod has and this machine must not lend the silo.</summary>
    private static readonly string[] PodVariables = ["POD_NAMESPACE", "POD_NAME", "POD_IP", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"];

    [Fact]
    public async Task Outside_a_pod_the_kubernetes_profile_fails_fast_naming_everything_missing()
    {
        var watch = Stopwatch.StartNew();
        var result = await RunSiloAsync(SiloBuild.Dll, ["--profile", "kubernetes"], NoPod());

        Assert.True(result.ExitCode == 2, result.All);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
        foreach (var missing in new[] { "POD_NAMESPACE", "POD_NAME", "POD_IP", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "/var/run/secrets/kubernetes.io/serviceaccount/token" })
        {
            Assert.Contains(missing, result.Error, StringComparison.Ordinal);
        }

        AssertOneClearLine(result);
    }

    [Fact]
    public async Task With_the_pod_variables_but_no_cluster_it_names_only_the_cluster_access()
    {
        var environment = NoPod();
        environment["POD_NAMESPACE"] = "tokengrid";
        environment["POD_NAME"] = "tokengrid-7d9c8-x2x4z";
        environment["POD_IP"] = "127.0.0.1";
        environment["TokenGrid__Cluster__SiloName"] = "tokengrid-7d9c8-x2x4z";

        var result = await RunSiloAsync(SiloBuild.Dll, ["--profile", "kubernetes"], environment);

        Assert.True(result.ExitCode == 2, result.All);
        Assert.Contains("KUBERNETES_SERVICE_HOST", result.Error, StringComparison.Ordinal);
        Assert.Contains("serviceaccount/token", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("POD_NAMESPACE", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("differs from the pod name", result.Error, StringComparison.Ordinal);
        AssertOneClearLine(result);
    }

    [Fact]
    public async Task The_postgres_profile_ships_no_credential_and_without_one_the_silo_stops_naming_the_setting()
    {
        // The profile the silo reads: a connection string there would be a default credential wherever nobody set one.
        using var profile = JsonDocument.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(SiloBuild.Dll)!, "silo-config", "postgres.json")));
        var database = profile.RootElement.GetProperty("TokenGrid").GetProperty("Database");
        Assert.False(database.TryGetProperty("ConnectionString", out _), database.ToString());

        var environment = NoPod();
        environment["TokenGrid__Database__ConnectionString"] = null;
        environment["TokenGrid__Cluster__SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var result = await RunSiloAsync(SiloBuild.Dll, ["--profile", "postgres", "--urls", "http://127.0.0.1:0"], environment);

        Assert.True(result.ExitCode == 2, result.All);
        AssertOneClearLine(result);
        Assert.Contains("a connection string is required", result.Error, StringComparison.Ordinal);
        Assert.Contains("set TokenGrid__Database__ConnectionString", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_that_refuses_the_password_stops_the_silo_with_one_line_and_exit_code_1()
    {
        var environment = NoPod();
        environment["TokenGrid__Database__ConnectionString"] =
            new NpgsqlConnectionStringBuilder(ServerConnectionString) { Password = "not-the-password" }.ConnectionString;
        environment["TokenGrid__Cluster__SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var result = await RunSiloAsync(SiloBuild.Dll, ["--profile", "postgres", "--urls", "http://127.0.0.1:0"], environment);

        // Not an unhandled exception that aborts the process (exit code 134, and a core dump where they are on).
        Assert.True(result.ExitCode == 1, result.All);
        var last = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        Assert.StartsWith("TokenGrid cannot start: PostgreSQL at ", last, StringComparison.Ordinal);
        Assert.Contains("refused the connection", last, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_published_app_starts_with_the_profile_the_image_uses()
    {
        var folder = await SiloBuild.PublishFolderAsync();
        var dockerfile = DockerfileModel.Load();
        var profile = dockerfile.Env("cpu", "TOKENGRID_PROFILE");
        Assert.False(string.IsNullOrEmpty(profile));
        Assert.True(File.Exists(Path.Combine(folder, "silo-config", profile + ".json")), "the image's profile is not in the publish folder");

        // As the image starts it, outside a pod: the profile is found and switches the Kubernetes hosting on.
        var image = NoPod();
        image["TOKENGRID_PROFILE"] = profile;
        var outside = await RunSiloAsync(Path.Combine(folder, "TokenGrid.Silo.dll"), [], image, folder);
        Assert.True(outside.ExitCode == 2, outside.All);
        Assert.Contains("POD_NAME", outside.Error, StringComparison.Ordinal);

        // As the pod runs it, with only what a pod would add: the init container's "db migrate", then the silo,
        // ready once it joined; SIGTERM stops it cleanly.
        var database = "tg_deploy_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteOnServerAsync($"CREATE DATABASE {database}");
        try
        {
            var pod = new Dictionary<string, string?>(image)
            {
                ["TokenGrid__Database__ConnectionString"] = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = database }.ConnectionString,
            };
            var migrate = await RunSiloAsync(Path.Combine(folder, "TokenGrid.Silo.dll"), ["db", "migrate"], pod, folder);
            Assert.True(migrate.ExitCode == 0, migrate.All);

            var http = FreePort();
            pod["TokenGrid__Kubernetes__Enabled"] = "false";
            pod["Urls"] = $"http://127.0.0.1:{http}";
            pod["TokenGrid__Cluster__SiloName"] = "published";
            pod["TokenGrid__Cluster__AdvertisedAddress"] = "127.0.0.1";
            pod["TokenGrid__Cluster__SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
            var output = await RunUntilReadyThenStopAsync(Path.Combine(folder, "TokenGrid.Silo.dll"), pod, folder, http);
            AssertJsonLogs(output);
        }
        finally
        {
            await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    /// <summary>
    /// The kubernetes profile's stdout, as a log collector reads it: one JSON object a line (no banner text, no line of a
    /// stack trace on its own), each with a UTC time, a level, a category and a message; the start is one record; a
    /// request with a wrong key adds none (the authentication handlers log at Warning and above).
    /// </summary>
    private static void AssertJsonLogs(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length > 5, output);
        var records = new List<JsonElement>();
        foreach (var line in lines)
        {
            try
            {
                records.Add(JsonDocument.Parse(line).RootElement);
            }
            catch (JsonException)
            {
                Assert.Fail($"a stdout line is not a JSON log record: {line}");
            }
        }

        foreach (var record in records)
        {
            var time = record.GetProperty("Timestamp").GetString()!;
            Assert.True(time.EndsWith('Z') && DateTimeOffset.TryParse(time, System.Globalization.CultureInfo.InvariantCulture, out _), time);
            Assert.False(string.IsNullOrEmpty(record.GetProperty("LogLevel").GetString()));
            Assert.False(string.IsNullOrEmpty(record.GetProperty("Category").GetString()));
        }

        var up = Assert.Single(records, r => r.GetProperty("Message").GetString()!.StartsWith("TokenGrid is up on ", StringComparison.Ordinal));
        Assert.Equal("kubernetes", up.GetProperty("State").GetProperty("Profile").GetString());
        Assert.DoesNotContain(records, r => r.GetProperty("Message").GetString()!.Contains("was not authenticated", StringComparison.Ordinal));
    }

    private static async Task<string> RunUntilReadyThenStopAsync(string dll, IReadOnlyDictionary<string, string?> environment, string folder, int port)
    {
        var start = ProcessRunner.Prepare("dotnet", [dll], folder, environment);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (true)
            {
                if (process.HasExited)
                {
                    Assert.Fail($"the silo exited with {process.ExitCode}:\n{await output}\n{await error}");
                }

                try
                {
                    using var ready = await client.GetAsync("health/ready");
                    if (ready.StatusCode == HttpStatusCode.OK)
                    {
                        break;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // Not listening yet.
                }

                if (DateTime.UtcNow > deadline)
                {
                    process.Kill(entireProcessTree: true);
                    Assert.Fail($"the published silo was not ready within 2 minutes:\n{await output}\n{await error}");
                }

                await Task.Delay(200);
            }

            var metrics = await client.GetStringAsync("metrics");
            Assert.Contains("orleans_", metrics, StringComparison.Ordinal);
            using (var wrongKey = new HttpRequestMessage(HttpMethod.Get, "v1/models"))
            {
                wrongKey.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "tg-not-a-key-of-this-grid");
                using var refused = await client.SendAsync(wrongKey);
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            }

            // What the kubelet sends at the end of the grace period's start.
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var stopped = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            try
            {
                await process.WaitForExitAsync(stopped.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"the silo did not stop within a minute of SIGTERM:\n{await output}\n{await error}");
            }

            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}:\n{await output}\n{await error}");
            return await output;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static Task<ProcessResult> RunSiloAsync(string dll, string[] arguments, IReadOnlyDictionary<string, string?> environment, string? folder = null) =>
        ProcessRunner.RunAsync("dotnet", [dll, .. arguments], TimeSpan.FromMinutes(2), folder ?? Path.GetDirectoryName(dll), environment);

    private static Dictionary<string, string?> NoPod() => PodVariables.ToDictionary(v => v, string? (_) => null);

    /// <summary>One line on stderr, no stack trace, nothing on stdout but what came before the check.</summary>
    private static void AssertOneClearLine(ProcessResult result)
    {
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("TokenGrid cannot start: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Output + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Output + result.Error, StringComparison.Ordinal);
    }

    private static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("TOKENGRID_TEST_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("TOKENGRID_TEST_POSTGRES is not set: run ./scripts/test.sh (it starts PostgreSQL).");

    private static async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
