using System.Net;
using System.Net.Sockets;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// A local port standing in for a database that is not up yet: while closed it accepts connections and drops them at
/// once (signalling <see cref="Refused"/>); once opened it forwards every new connection to the real server.
/// </summary>
public sealed class TcpGate : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _refused = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _accepting;
    private volatile DnsEndPoint? _target;

    public TcpGate()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The port to connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Completes when a connection was dropped because the gate was closed.</summary>
    public Task Refused => _refused.Task;

    /// <summary>Forwards connections from now on.</summary>
    public void Open(string host, int port) => _target = new DnsEndPoint(host, port);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_target is { } target)
            {
                _ = ForwardAsync(client, target);
            }
            else
            {
                client.Dispose();
                _refused.TrySetResult();
            }
        }
    }

    private async Task ForwardAsync(TcpClient client, DnsEndPoint target)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                await upstream.ConnectAsync(target.Host, target.Port, _stop.Token);
                var down = client.GetStream();
                var up = upstream.GetStream();
                await Task.WhenAny(down.CopyToAsync(up, _stop.Token), up.CopyToAsync(down, _stop.Token));
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Either side went away: the other side is closed with it.
            }
        }
    }
}
