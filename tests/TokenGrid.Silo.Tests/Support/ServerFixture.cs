using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>One server shared by a collection of tests; each test makes its own tenants.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private TokenGridServer? _server;

    public TokenGridServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _server = await TokenGridServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "Server";
}

/// <summary>
/// A server of a test class's own, started with <paramref name="settings"/> over the defaults; with <paramref name="log"/>,
/// its log entries go there too.
/// </summary>
public abstract class SettingsServerFixture(IReadOnlyDictionary<string, string> settings, ErrorLogCapture? log = null) : IAsyncLifetime
{
    private TokenGridServer? _server;

    public TokenGridServer Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <summary>The server's log entries, when the fixture keeps them.</summary>
    public ErrorLogCapture Log => log ?? throw new InvalidOperationException("This fixture keeps no log.");

    public async Task InitializeAsync() => _server = await TokenGridServer.StartAsync(
        settings.ToDictionary(), services: log is null ? null : services => services.AddSingleton<ILoggerProvider>(log));

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
