using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing;

namespace TokenGrid.Silo.Billing;

/// <summary>
/// Posts spend threshold events to tenants' webhooks: JSON (<see cref="SpendWebhookPayload"/>), signed the way Stripe
/// signs its events (header <c>TokenGrid-Signature: t=UNIX-SECONDS,v1=HEX</c>, the HMAC-SHA256 of <c>t.BODY</c> with the
/// webhook's secret), with the event id in <c>TokenGrid-Event-Id</c> for the receiver to drop repeats. A 2xx answer is
/// delivery; anything else throws, and the tenant grain posts again later.
/// </summary>
/// <remarks>
/// One pooled <see cref="HttpClient"/> over a <see cref="SocketsHttpHandler"/> whose connect callback refuses private
/// addresses (unless <see cref="SpendWebhookOptions.AllowPrivateNetworks"/>): checked on the address actually connected
/// to, so DNS cannot point a public name inside. No redirects are followed. Hand-rolled rather than a resilience
/// pipeline: the retry is the tenant's (its state keeps what is due, across restarts), so one attempt per post is right.
/// </remarks>
public sealed class SpendWebhookSender : ISpendWebhookSender, IDisposable
{
    /// <summary>The signature header.</summary>
    public const string SignatureHeader = "TokenGrid-Signature";

    /// <summary>The event id header.</summary>
    public const string EventIdHeader = "TokenGrid-Event-Id";

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly HttpClient _client;
    private readonly TimeProvider _time;

    public SpendWebhookSender(IOptions<SpendWebhookOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        _time = time;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,

            // Directly, never through an environment proxy (HTTPS_PROXY): the connect callback would then check the
            // proxy's address, not the tenant's target, and the proxy would reach whatever the tenant named.
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectCallback = (context, token) => ConnectAsync(context, settings.AllowPrivateNetworks, token),
        };
        _client = new HttpClient(handler) { Timeout = settings.Timeout };
    }

    /// <inheritdoc/>
    public async Task SendAsync(string tenantId, string url, string secret, SpendThresholdEvent raised, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(raised);
        var body = JsonSerializer.SerializeToUtf8Bytes(SpendWebhookPayload.Of(tenantId, raised), s_json);
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add(EventIdHeader, raised.Id);
        request.Headers.Add(SignatureHeader, $"t={timestamp},v1={Sign(secret, timestamp, body)}");
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The webhook did not answer within {_client.Timeout}.", e);
        }

        using var answered = response;
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"The webhook answered {(int)response.StatusCode}.", null, response.StatusCode);
        }
    }

    /// <summary>The <c>v1</c> signature: lowercase hex of HMAC-SHA256(secret, "{timestamp}." + body).</summary>
    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var signed = new byte[Encoding.ASCII.GetByteCount($"{timestamp}.") + body.Length];
        var prefix = Encoding.ASCII.GetBytes($"{timestamp}.", signed);
        body.CopyTo(signed.AsSpan(prefix));
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    /// <summary>Whether <paramref name="address"/> is inside a network the grid must not post into.</summary>
    public static bool IsPrivate(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
            || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast)
        {
            return true;
        }

        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        var b = address.GetAddressBytes();
        return b[0] is 10 or 0 or >= 224 || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] is >= 64 and <= 127);
    }

    /// <inheritdoc/>
    public void Dispose() => _client.Dispose();

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivate, CancellationToken token)
    {
        var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, token);
        var allowed = addresses.Where(a => allowPrivate || !IsPrivate(a)).ToArray();
        if (allowed.Length == 0)
        {
            throw new HttpRequestException($"The webhook host '{context.DnsEndPoint.Host}' resolves only to private addresses, which webhooks may not reach.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, token);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>What a spend webhook receives: the event as <c>GET /v1/billing/events</c> shows it, and the tenant.</summary>
public sealed record SpendWebhookPayload(
    string Id, string Object, string Tenant, DateTimeOffset At, DateTimeOffset PeriodStart, int Percent, string Spent, string Cap, string Currency)
{
    internal static SpendWebhookPayload Of(string tenantId, SpendThresholdEvent e) =>
        new(e.Id, "billing.spend_threshold", tenantId, e.At, e.PeriodStart, e.Percent, e.Spent.ToString(), e.Cap.ToString(), e.Currency);
}
