using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Silo.Billing;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Billing;

/// <summary>
/// Spend webhooks: a tenant sets the URL its spend threshold events are posted to, and each event raised afterwards
/// arrives there signed with the secret it was shown once; bad URLs are 400s naming <c>url</c>; private addresses are
/// refused unless the operator allows them.
/// </summary>
[Collection(BillingServerCollection.Name)]
public sealed class SpendWebhookTests(BillingServerFixture fixture)
{
    private readonly TokenGridServer _server = fixture.Server;
    private readonly BillingServerFixture _fixture = fixture;

    [Fact]
    public async Task Each_threshold_reached_after_the_webhook_is_set_is_posted_once_signed_with_its_secret()
    {
        using var receiver = new Receiver(HttpStatusCode.NoContent);
        var (id, key) = await _server.CreateTenantAsync(new { spend_cap = "0.000030" });
        using var client = _server.Client(key);

        var set = await (await client.PutAsync("v1/billing/webhook", Json(new JsonObject { ["url"] = receiver.Url }))).ReadJsonAsync();
        var secret = set["secret"]!.GetValue<string>();
        var shown = await (await client.GetAsync("v1/billing/webhook")).ReadJsonAsync();
        Assert.Equal(("billing.webhook", receiver.Url), (set["object"]!.GetValue<string>(), set["url"]!.GetValue<string>()));
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Null(shown["secret"]);
        Assert.Equal(set["created_at"]!.ToJsonString(), shown["created_at"]!.ToJsonString());

        // One request of at most 3 + 9 × 2 = 21 micros under a cap of 30 charges about 16: over 50%.
        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hello there", max_tokens = 9, temperature = 0 })).ReadJsonAsync();
        var events = (await (await client.GetAsync("v1/billing/events")).ReadJsonAsync())["data"]!.AsArray();
        Assert.NotEmpty(events);

        foreach (var raised in events)
        {
            var post = await receiver.NextAsync();
            var body = JsonNode.Parse(post.Body)!;
            Assert.Equal(raised!["id"]!.GetValue<string>(), post.EventId);
            Assert.Equal((raised["id"]!.GetValue<string>(), "billing.spend_threshold", id, raised["percent"]!.GetValue<int>(), raised["spent"]!.GetValue<string>()), (
                body["id"]!.GetValue<string>(), body["object"]!.GetValue<string>(), body["tenant"]!.GetValue<string>(), body["percent"]!.GetValue<int>(),
                body["spent"]!.GetValue<string>()));

            // Stripe's own verifier (its scheme is ours) accepts the post, and refuses it once a byte of the body changes.
            var verified = await ReferenceTools.StripeVerifiesAsync(post.Body, post.Signature!, secret);
            Assert.True(verified.Ok, verified.Error);
            Assert.Equal(raised["id"]!.GetValue<string>(), verified.Id);
            var tampered = post.Body.ToArray();
            tampered[^2] ^= 1;
            Assert.False((await ReferenceTools.StripeVerifiesAsync(tampered, post.Signature!, secret)).Ok);

            // And as docs/billing.md says it: HMAC-SHA256 of "t.body" with the secret.
            var parts = post.Signature!.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            Assert.Equal(SpendWebhookSender.Sign(secret, long.Parse(parts["t"], System.Globalization.CultureInfo.InvariantCulture), post.Body), parts["v1"]);
            Assert.InRange(DateTimeOffset.FromUnixTimeSeconds(long.Parse(parts["t"], System.Globalization.CultureInfo.InvariantCulture)), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        }

        // Nothing more: each event once.
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("v1/billing/webhook")).StatusCode);
        Assert.Equal(events.Count, receiver.Received);
        await (await client.GetAsync("v1/billing/webhook")).AssertProblemAsync(HttpStatusCode.NotFound, "webhook_not_found");
        await (await client.DeleteAsync("v1/billing/webhook")).AssertProblemAsync(HttpStatusCode.NotFound, "webhook_not_found");
    }

    [Fact]
    public async Task An_event_the_receiver_did_not_take_is_posted_again_with_the_same_id()
    {
        using var receiver = new Receiver(HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK);
        var (_, key) = await _server.CreateTenantAsync(new { spend_cap = "0.000030" });
        using var client = _server.Client(key);
        await (await client.PutAsync("v1/billing/webhook", Json(new JsonObject { ["url"] = receiver.Url }))).ReadJsonAsync();

        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hello there", max_tokens = 9, temperature = 0 })).ReadJsonAsync();
        var refused = await receiver.NextAsync();

        // A settlement right after the failure does not post again (the receiver is given a second); the retry does.
        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hi", max_tokens = 1, temperature = 0 })).ReadJsonAsync();
        var taken = await receiver.NextAsync();
        Assert.Equal(refused.EventId, taken.EventId);
        Assert.Equal(refused.Body, taken.Body);
        Assert.True(taken.At - refused.At >= TimeSpan.FromSeconds(0.9), $"Posted again after {taken.At - refused.At}.");
    }

    [Fact]
    public async Task A_receiver_that_keeps_failing_is_one_warning_not_one_per_retry()
    {
        using var receiver = new Receiver(HttpStatusCode.ServiceUnavailable, HttpStatusCode.BadGateway, HttpStatusCode.InternalServerError, HttpStatusCode.OK);
        var (tenant, key) = await _server.CreateTenantAsync(new { spend_cap = "0.000030" });
        using var client = _server.Client(key);
        await (await client.PutAsync("v1/billing/webhook", Json(new JsonObject { ["url"] = receiver.Url }))).ReadJsonAsync();

        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hello there", max_tokens = 9, temperature = 0 })).ReadJsonAsync();
        var posts = new List<string?>();
        for (var i = 0; i < 4; i++)
        {
            posts.Add((await receiver.NextAsync()).EventId);
        }

        // Three failures, 1 and 2 and 4 seconds apart, then delivery: the same event each time, one warning for the run.
        Assert.Single(posts.Distinct());
        Assert.Single(_fixture.Log.Errors, e => e.Contains("could not post spend event", StringComparison.Ordinal) && e.Contains($"TenantId={tenant}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{}""", "url")]
    [InlineData("""{"url": 7}""", "url")]
    [InlineData("""{"url": "/relative/path"}""", "url")]
    [InlineData("""{"url": "ftp://example.com/hook"}""", "url")]
    [InlineData("""{"url": "https://user:pass@example.com/hook"}""", "url")]
    [InlineData("""{"url": "https://example.com/hook#part"}""", "url")]
    [InlineData("""{"url": "https://example.com/hook", "events": ["all"]}""", "events")]
    public async Task A_bad_webhook_is_a_400_naming_the_field_and_changes_nothing(string body, string param)
    {
        var (_, key) = await _server.CreateTenantAsync();
        using var client = _server.Client(key);

        var problem = await (await client.PutAsync("v1/billing/webhook", new StringContent(body, Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
        await (await client.GetAsync("v1/billing/webhook")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Without_the_operators_leave_a_post_never_reaches_a_private_address_and_plain_http_is_refused()
    {
        using var receiver = new Receiver(HttpStatusCode.NoContent);
        using var sender = new SpendWebhookSender(Microsoft.Extensions.Options.Options.Create(new SpendWebhookOptions()), new FakeTimeProvider());
        var raised = new SpendThresholdEvent("spend-1", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, 50, new Money(5), new Money(10), "USD");

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => sender.SendAsync("t", receiver.Url, "whsec_x", raised, CancellationToken.None));

        Assert.Contains("private addresses", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, receiver.Received);
        Assert.All(new[] { "127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1" },
            a => Assert.True(SpendWebhookSender.IsPrivate(IPAddress.Parse(a)), a));
        Assert.All(new[] { "8.8.8.8", "172.32.0.1", "2001:4860:4860::8888" }, a => Assert.False(SpendWebhookSender.IsPrivate(IPAddress.Parse(a)), a));
    }

    [Fact]
    public async Task A_receiver_that_never_answers_is_a_timeout_the_tenant_retries_not_a_cancellation()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var options = new SpendWebhookOptions { AllowPrivateNetworks = true, Timeout = TimeSpan.FromMilliseconds(300) };
        using var sender = new SpendWebhookSender(Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System);
        var raised = new SpendThresholdEvent("spend-1", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, 50, new Money(5), new Money(10), "USD");

        await Assert.ThrowsAsync<TimeoutException>(() =>
            sender.SendAsync("t", $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/hook", "whsec_x", raised, CancellationToken.None));
    }

    private static StringContent Json(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>A loopback HTTP endpoint that records each POST and answers the statuses given in turn (the last one from then on).</summary>
    private sealed class Receiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Channel<(string? EventId, string? Signature, byte[] Body, DateTimeOffset At)> _posts =
            Channel.CreateUnbounded<(string?, string?, byte[], DateTimeOffset)>();
        private readonly Task _loop;
        private int _received;

        public Receiver(params HttpStatusCode[] statuses)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Url = $"http://127.0.0.1:{port}/hook";
            _listener.Prefixes.Add(Url + "/");
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                    {
                        return;
                    }

                    using var buffer = new MemoryStream();
                    await context.Request.InputStream.CopyToAsync(buffer);
                    var status = statuses[Math.Min(Interlocked.Increment(ref _received) - 1, statuses.Length - 1)];
                    _posts.Writer.TryWrite((context.Request.Headers[SpendWebhookSender.EventIdHeader], context.Request.Headers[SpendWebhookSender.SignatureHeader],
                        buffer.ToArray(), DateTimeOffset.UtcNow));
                    context.Response.StatusCode = (int)status;
                    context.Response.Close();
                }
            });
        }

        public string Url { get; }

        public int Received => Volatile.Read(ref _received);

        public async Task<(string? EventId, string? Signature, byte[] Body, DateTimeOffset At)> NextAsync() =>
            await _posts.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
