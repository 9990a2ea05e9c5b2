using System.Net;
using System.Net.Sockets;
using TokenGrid.Silo.Hosting;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Hosting;

/// <summary>
/// Kestrel's connection limits are set through <c>Kestrel:Limits</c> (<c>Kestrel__Limits__…</c> in the environment), which
/// ASP.NET Core does not bind by itself; a limit that cannot be set there, or is misspelt, stops the silo at start.
/// </summary>
public sealed class KestrelLimitsTests
{
    [Fact]
    public async Task The_connection_limit_from_configuration_refuses_a_connection_past_it()
    {
        await using var server = await TokenGridServer.StartAsync(new Dictionary<string, string>
        {
            ["Kestrel:Limits:MaxConcurrentConnections"] = "2",
        });

        // Two connections that have each been answered are open and counted.
        using var first = await AnsweredConnectionAsync(server.BaseAddress.Port);
        using var second = await AnsweredConnectionAsync(server.BaseAddress.Port);

        // The third is accepted by the kernel, then closed by Kestrel without a reply.
        using var third = new TcpClient();
        await third.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port);
        var stream = third.GetStream();
        await stream.WriteAsync("GET /health/live HTTP/1.1\r\nHost: silo\r\n\r\n"u8.ToArray());
        Assert.Equal(0, await ReadOrResetAsync(stream));
    }

    [Theory]
    [InlineData("Kestrel:Limits:MaxConcurentConnections", "2", "MaxConcurentConnections")]
    [InlineData("Kestrel:Limits:MaxConcurrentConnections", "many", "Kestrel:Limits:MaxConcurrentConnections")]
    [InlineData("Kestrel:Limits:MaxRequestBodySize", "10", "TokenGrid:Api:MaxRequestBodyBytes")]
    public async Task A_limit_that_cannot_be_applied_stops_the_silo_naming_it(string key, string value, string named)
    {
        var error = await Assert.ThrowsAsync<StartupConfigurationException>(() =>
            TokenGridServer.StartAsync(new Dictionary<string, string> { [key] = value }));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    private static async Task<TcpClient> AnsweredConnectionAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync("GET /health/live HTTP/1.1\r\nHost: silo\r\n\r\n"u8.ToArray());
        var reply = new byte[512];
        Assert.True(await stream.ReadAsync(reply) > 0);
        return client;
    }

    private static async Task<int> ReadOrResetAsync(NetworkStream stream)
    {
        try
        {
            return await stream.ReadAsync(new byte[512]);
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return 0;
        }
    }
}
