using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using TokenGrid.Silo.Hosting;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>
/// The real executable's host (silo + HTTP API on Kestrel) on free ports, built the way Program.cs builds it, with
/// fixed admin, auditor and demo keys. Each server is its own one-silo cluster, so servers can run in parallel.
/// </summary>
public sealed class TokenGridServer : IAsyncDisposable
{
    public const string AdminKey = "tg-admin-test-0123456789abcdef";
    public const string DemoKey = "tg-demo-test-0123456789abcdef";
    public const string AuditorKey = "tg-auditor-test-0123456789abcdef";
    public const string DemoTenant = "demo";
    public const string Model = "demo";

    private static int s_count;
    private readonly WebApplication _app;

    private TokenGridServer(WebApplication app, Uri baseAddress, string siloName, FakeTimeProvider? time)
    {
        _app = app;
        BaseAddress = baseAddress;
        SiloName = siloName;
        Time = time;
    }

    /// <summary>Where the API listens, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The silo's name (node ids are <c>{SiloName}/cpu0</c>).</summary>
    public string SiloName { get; }

    /// <summary>The app's clock when the server was started with a fake one.</summary>
    public FakeTimeProvider? Time { get; }

    /// <summary>The app's services (the silo's grain factory among them).</summary>
    public IServiceProvider Services => _app.Services;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    /// <summary>
    /// Starts a server. <paramref name="settings"/> override configuration (as command-line arguments do);
    /// <paramref name="time"/> replaces the app's <see cref="TimeProvider"/> while Orleans' own loops stay on real time;
    /// <paramref name="services"/> changes the app's services last (to put a real part behind a wrapper).
    /// </summary>
    public static async Task<TokenGridServer> StartAsync(
        IReadOnlyDictionary<string, string>? settings = null, FakeTimeProvider? time = null, Action<IServiceCollection>? services = null)
    {
        var siloName = $"test{Interlocked.Increment(ref s_count)}-{Environment.ProcessId}";
        var values = new Dictionary<string, string>
        {
            ["profile"] = "local",
            ["urls"] = "http://127.0.0.1:0",
            ["TokenGrid:Cluster:SiloPort"] = FreePort().ToString(),
            ["TokenGrid:Cluster:ClusterId"] = "test-" + Guid.NewGuid().ToString("N"),
            ["TokenGrid:Cluster:SiloName"] = siloName,
            ["TokenGrid:Admin:ApiKey"] = AdminKey,
            ["TokenGrid:Demo:ApiKey"] = DemoKey,
            ["TokenGrid:Auditor:ApiKey"] = AuditorKey,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Error",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            values[key] = value;
        }

        var args = values.SelectMany(kv => new[] { "--" + kv.Key, kv.Value }).ToArray();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ApplicationName = "TokenGrid.Silo" });
        builder.AddTokenGrid();
        if (time is not null)
        {
            builder.Services.AddSingleton<TimeProvider>(time);
            builder.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        }

        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapTokenGrid();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TokenGridServer(app, new Uri(address.TrimEnd('/') + "/"), siloName, time);
    }

    /// <summary>A client with <paramref name="key"/> as its bearer key (none when null).</summary>
    public HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>Makes this silo's node report now (as its timer would), so the registry sees it as live at the current time.</summary>
    public Task RefreshNodesAsync() => Grains.GetGrain<TokenGrid.Abstractions.Nodes.INodeGrain>($"{SiloName}/cpu0").StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
