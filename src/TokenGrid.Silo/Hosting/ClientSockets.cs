using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// The HTTP listener's TCP settings, which its connections inherit, so that a client that vanishes without closing (a
/// network path cut, a host powered off) is noticed and its request ends as a client that left, cancelling its job:
/// <list type="bullet">
/// <item>keep-alive probes on an idle connection (a non-streaming request waiting for its job sends nothing): after
/// <see cref="KeepAliveIdle"/>, then every <see cref="KeepAliveInterval"/>, given up after <see cref="KeepAliveProbes"/>
/// unanswered;</item>
/// <item>on Linux, <c>TCP_USER_TIMEOUT</c>: data the client has not acknowledged for <see cref="UnacknowledgedTimeout"/>
/// (a stream to a vanished client) ends the connection.</item>
/// </list>
/// A live client answers probes and acknowledges data whatever the request, so nothing changes for it.
/// </summary>
internal static class ClientSockets
{
    /// <summary>Idle time before the first keep-alive probe.</summary>
    public static TimeSpan KeepAliveIdle { get; } = TimeSpan.FromSeconds(30);

    /// <summary>Time between keep-alive probes.</summary>
    public static TimeSpan KeepAliveInterval { get; } = TimeSpan.FromSeconds(10);

    /// <summary>Unanswered probes after which the connection is closed.</summary>
    public const int KeepAliveProbes = 3;

    /// <summary>How long sent data may stay unacknowledged before the connection is closed (Linux).</summary>
    public static TimeSpan UnacknowledgedTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <summary>Linux's <c>TCP_USER_TIMEOUT</c> option (netinet/tcp.h); .NET names no such option.</summary>
    private const int TcpUserTimeout = 18;

    /// <summary>Sets the listener's socket factory to <see cref="Listen"/>.</summary>
    public static void Configure(SocketTransportOptions options) => options.CreateBoundListenSocket = Listen;

    /// <summary>The default bound listen socket, with the settings above on TCP endpoints.</summary>
    public static Socket Listen(EndPoint endpoint)
    {
        var socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
        if (socket.ProtocolType == ProtocolType.Tcp)
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)KeepAliveIdle.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)KeepAliveInterval.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, KeepAliveProbes);
            if (OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption((int)SocketOptionLevel.Tcp, TcpUserTimeout, BitConverter.GetBytes((int)UnacknowledgedTimeout.TotalMilliseconds));
            }
        }

        return socket;
    }
}
