using System.Globalization;
using System.Net;
using System.Net.Sockets;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Hosting;

/// <summary>
/// The silo's HTTP connections probe an idle client (TCP keep-alive), so one that vanished without closing is noticed
/// and its request ends as a client that left. Read from the kernel's table of the server's own end of a connection.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ClientSocketsTests(ServerFixture fixture)
{
    [Fact]
    public async Task An_idle_connection_to_the_silo_is_probed_with_tcp_keep_alive()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, fixture.Server.BaseAddress.Port);
        var stream = client.GetStream();
        await stream.WriteAsync("GET /health/live HTTP/1.1\r\nHost: silo\r\n\r\n"u8.ToArray());
        var reply = new byte[512];
        Assert.True(await stream.ReadAsync(reply) > 0);

        // The server's end: local port the silo's, remote port this client's. Its timer is the keep-alive timer (2)
        // once the reply is acknowledged and the connection idles (1 would be a retransmission still pending).
        var clientPort = ((IPEndPoint)client.Client.LocalEndPoint!).Port;
        var row = await ServerEndAsync(fixture.Server.BaseAddress.Port, clientPort);
        Assert.Equal(2, row.Timer);
    }

    private static async Task<(int Timer, string Line)> ServerEndAsync(int serverPort, int clientPort)
    {
        for (var attempt = 0; ; attempt++)
        {
            var lines = File.ReadLines("/proc/net/tcp").Concat(File.Exists("/proc/net/tcp6") ? File.ReadLines("/proc/net/tcp6") : []).Skip(1);
            foreach (var line in lines)
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when ...
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 5 && Port(fields[1]) == serverPort && Port(fields[2]) == clientPort)
                {
                    var timer = int.Parse(fields[5].Split(':')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    if (timer == 2 || attempt >= 50)
                    {
                        return (timer, line);
                    }
                }
            }

            if (attempt >= 50)
            {
                throw new InvalidOperationException($"No server end of the connection from port {clientPort} to {serverPort}.");
            }

            // The reply's acknowledgement may still be on its way: the kernel's state, not a sleep, decides.
            await Task.Delay(20);
        }
    }

    private static int Port(string address) => int.Parse(address[(address.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
