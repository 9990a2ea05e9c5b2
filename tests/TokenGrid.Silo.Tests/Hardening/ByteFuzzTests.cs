using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGrid.Silo.Tests.Support;
using Xunit.Abstractions;

namespace TokenGrid.Silo.Tests.Hardening;

/// <summary>
/// A server of its own for byte-level fuzzing and refusals: the smallest demo model, short generations, and its Error log
/// kept, so a test can assert that refusing a request logged nothing.
/// </summary>
public sealed class ByteFuzzServerFixture : IAsyncLifetime
{
    private TokenGridServer? _server;

    public ErrorLogCapture Log { get; } = new();

    public TokenGridServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _server = await TokenGridServer.StartAsync(
        new Dictionary<string, string>
        {
            ["TokenGrid:Models:DemoSpec:Layers"] = "2",
            ["TokenGrid:Models:DemoSpec:HiddenSize"] = "64",
            ["TokenGrid:Models:DemoSpec:ContextLength"] = "1024",

            // A body the fuzzing stripped of max_tokens still generates only a couple of tokens.
            ["TokenGrid:Api:DefaultMaxTokens"] = "2",
        },
        services: services => services.AddSingleton<ILoggerProvider>(Log));

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// Seeded byte-level fuzzing over raw keep-alive connections (<see cref="ByteRequests"/>) of every endpoint that takes a
/// body, and hostile paths and queries of the others. Never a 5xx; every 4xx the application answers is an RFC 9457
/// problem with OpenAI's error object, and only what Kestrel refuses before the application runs (broken framing,
/// headers over its limits, raw bytes in the request line) may be its bare 4xx. Afterwards the server is live, logged
/// no error, and every accepted job has settled with no reservation left open.
/// </summary>
/// <remarks>
/// 10,000 requests by default; <c>TOKENGRID_FUZZ_SEED</c> and <c>TOKENGRID_FUZZ_REQUESTS</c> explore further. A
/// failure prints the request's bytes, so it can be replayed.
/// </remarks>
public sealed class ByteFuzzTests(ByteFuzzServerFixture fixture, ITestOutputHelper output) : IClassFixture<ByteFuzzServerFixture>
{
    private const int Connections = 16;

    /// <summary>
    /// The dashboard's sign-in form: a wrong key gets its HTML page again (401), for the browser that posted it; after
    /// more wrong keys than the form takes per minute, 429 with the same page.
    /// </summary>
    private const string SignIn = "/dashboard/login";
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("TOKENGRID_FUZZ_SEED"), out var seed) ? seed : 20261126;
    private static readonly int Requests = int.TryParse(Environment.GetEnvironmentVariable("TOKENGRID_FUZZ_REQUESTS"), out var count) ? count : 10_000;

    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task Byte_level_fuzzing_is_never_a_server_error_and_every_accepted_job_settles()
    {
        var (tenant, key) = await Server.CreateTenantAsync(new
        {
            tokens_per_minute = 10_000_000,
            requests_per_minute = 1_000_000,
            max_concurrent_jobs = 1_000,
        });
        var (adminTarget, _) = await Server.CreateTenantAsync();
        const string admin = TokenGridServer.AdminKey;
        var bodies = new ByteTarget[]
        {
            new("POST", "/v1/completions", key, """{"model":"demo","prompt":"Hello ünï 🦀","max_tokens":1,"temperature":0.5,"stop":["\n"],"seed":3}"""),
            new("POST", "/v1/completions", key, """{"model":"demo","prompt":"Hi","max_tokens":1,"stream":true,"stream_options":{"include_usage":true}}"""),
            new("POST", "/v1/completions", key, """{"model":"demo","prompt":["Hé","🦀"],"max_tokens":1,"n":2,"echo":true}"""),
            new("POST", "/v1/completions", key, """{"model":"demo","prompt":[[1,2],[3]],"max_tokens":1,"stream":true}"""),
            new("POST", "/v1/chat/completions", key, """{"model":"demo","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hé"}]}],"max_tokens":1}"""),
            new("POST", "/v1/chat/completions", key, """{"model":"demo","messages":[{"role":"user","content":"Hi","name":"x"}],"max_tokens":1,"stream":true}"""),
            new("POST", "/v1/responses", key, """{"model":"demo","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"Hé 🦀"}]}],"max_output_tokens":1,"metadata":{"k":"v"}}"""),
            new("POST", "/v1/responses", key, """{"model":"demo","input":"Hi","max_output_tokens":1,"stream":true,"text":{"format":{"type":"json_object"}}}"""),
            new("POST", "/v1/responses", key, """{"model":"demo","input":[{"role":"user","content":"Hé"},{"type":"function_call","call_id":"call_1","name":"f","arguments":"{\"a\":\"🦀\"}"},{"type":"function_call_output","call_id":"call_1","output":"2"}],"max_output_tokens":1,"include":["message.output_text.logprobs"],"top_logprobs":1}"""),
            new("POST", "/v1/responses", key, """{"model":"demo","input":"Hi","max_output_tokens":1,"stream":true,"tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":false}],"tool_choice":"required"}"""),
            new("POST", "/v1/responses", key, """{"model":"demo","input":[{"role":"user","content":"Hé"},{"type":"item_reference","id":"msg_0123456789abcdef01234567"}],"max_output_tokens":1,"store":false}"""),
            new("POST", "/v1/jobs", key, """{"model":"demo","prompt":"Hello","max_tokens":1,"top_k":5,"seed":7,"stop":"x"}"""),
            new("POST", "/v1/jobs", key, """{"model":"demo","messages":[{"role":"user","content":"Hi"}],"max_tokens":1}"""),
            new("POST", "/admin/tenants", admin, """{"id":"bf-tenant","name":"Fuzz ✓","budget":{"tokens_per_minute":1000},"enabled":true}"""),
            new("PUT", $"/admin/tenants/{adminTarget}", admin, """{"name":"Fuzz","budget":{"tokens_per_minute":1000,"required_labels":{"region":"eu"}},"enabled":true}"""),
            new("PATCH", $"/admin/tenants/{adminTarget}", admin, """{"name":"Fuzz","budget":{"weight":3}}"""),
            new("POST", $"/admin/tenants/{adminTarget}/keys", admin, """{"name":"fuzz ✓"}"""),
            new("PUT", "/v1/billing/webhook", key, """{"url":"https://example.com/hooks/ünï?a=1"}"""),
            new("POST", SignIn, null, "key=tg-not-a-key-0123456789&next=%2Fdashboard", "application/x-www-form-urlencoded"),
            new("POST", "/v1/jobs/job_doesnotexist/cancel", key, ""),
        };
        var reads = new ByteTarget[]
        {
            new("GET", "/v1/jobs/{x}", key, null),
            new("GET", "/v1/responses/{x}", key, null),
            new("DELETE", "/v1/responses/{x}", key, null),
            new("GET", "/v1/jobs/{x}/events", key, null),
            new("POST", "/v1/jobs/{x}/cancel", key, null),
            new("DELETE", "/v1/jobs/{x}", key, null),
            new("GET", "/v1/jobs?limit={x}&before={x}", key, null),
            new("GET", "/v1/models/{x}", key, null),
            new("GET", "/v1/usage?model={x}", key, null),
            new("GET", "/v1/capacity?tenant_tpm={x}&top={x}", admin, null),
            new("GET", "/admin/tenants/{x}", admin, null),
            new("GET", $"/admin/tenants/{adminTarget}/ledger?after={{x}}&limit={{x}}", admin, null),
            new("DELETE", $"/admin/tenants/{adminTarget}/keys/{{x}}", admin, null),
            new("GET", "/admin/nodes/{x}/cpu9/", admin, null),
            new("POST", "/admin/nodes/{x}/cpu9/drain", admin, null),
            new("GET", "/health/live?{x}={x}", null, null),
            new("GET", "/dashboard/assets/{x}", null, null),
            new("GET", "/dashboard/orleans/SiloStats/{x}", admin, null),
            new("GET", "/dashboard/orleans/GrainState?grainType={x}&grainId={x}", admin, null),
        };

        var host = $"{Server.BaseAddress.Host}:{Server.BaseAddress.Port}";
        var failures = new ConcurrentQueue<string>();
        var jobs = new ConcurrentBag<string>();
        var statuses = new ConcurrentDictionary<string, int>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(worker => Task.Run(async () =>
        {
            var requests = new ByteRequests(Seed + worker, host, bodies, reads);
            var connection = await RawHttpConnection.OpenAsync(Server.BaseAddress);
            try
            {
                for (var i = worker; i < Requests && failures.Count < 20; i += Connections)
                {
                    var request = requests.Next();
                    List<RawHttpResponse?> answers;
                    bool reusable;
                    try
                    {
                        (answers, reusable) = await ExchangeAsync(connection, request);
                    }
                    catch (TruncatedResponseException e) when ((request.ServerMayRefuse || request.Ending == RawEnding.HalfClose) && e.Status is >= 400 and < 500)
                    {
                        // Broken request framing (a chunk size past 2^64, say), or a client that half-closed before the
                        // body its Content-Length promised: Kestrel may drop the connection while the 4xx it started is
                        // still being written. The client broke the protocol; the status was right.
                        statuses.AddOrUpdate($"{request.Kind} {e.Status} cut", 1, (_, n) => n + 1);
                        (answers, reusable) = ([], false);
                    }
                    catch (IOException e)
                    {
                        // The server broke off a response it had started.
                        failures.Enqueue($"{e.Message} answering {request}");
                        (answers, reusable) = ([], false);
                    }

                    foreach (var answer in answers)
                    {
                        statuses.AddOrUpdate($"{request.Kind} {answer?.Status.ToString() ?? "closed"}", 1, (_, n) => n + 1);
                        if (Verify(request, answer) is { } failure)
                        {
                            failures.Enqueue(failure);
                        }
                        else if (answer is { Status: 202 } && request.Target == "/v1/jobs")
                        {
                            jobs.Add(JsonNode.Parse(answer.Body)!["id"]!.GetValue<string>());
                        }
                    }

                    if (!reusable)
                    {
                        await connection.DisposeAsync();
                        connection = await RawHttpConnection.OpenAsync(Server.BaseAddress);
                    }
                }
            }
            finally
            {
                await connection.DisposeAsync();
            }
        })));
        var fuzzing = clock.Elapsed;

        output.WriteLine($"{Requests} requests (seed {Seed}) in {fuzzing.TotalSeconds:F1} s over {Connections} connections; {jobs.Count} jobs accepted.");
        foreach (var (outcome, n) in statuses.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {outcome}: {n}");
        }

        foreach (var error in fixture.Log.Errors.Take(5))
        {
            output.WriteLine("Logged: " + error);
        }

        Assert.True(failures.IsEmpty, string.Join(Environment.NewLine + Environment.NewLine, failures));

        using var client = Server.Client(key);
        await client.AssertEveryJobEndedAndSettledAsync(jobs);

        // The server is healthy and logged no error: bad bytes and clients that went away are not faults.
        using var anonymous = Server.Client(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("health/live")).StatusCode);
        Assert.True(fixture.Log.Errors.Count == 0, string.Join(Environment.NewLine, fixture.Log.Errors.Take(20)));
        output.WriteLine($"Settled {jobs.Count} jobs in {(clock.Elapsed - fuzzing).TotalSeconds:F1} s.");
    }

    /// <summary>
    /// A client that resets its connection (RST) while the API reads its body went away: the request is let go, as one
    /// that half-closes is, not answered 503 as if a dependency had failed, and nothing is logged as an error. The body is
    /// cut once the API has started to read it (it asked for the body with <c>100 Continue</c>).
    /// </summary>
    [Fact]
    public async Task A_client_that_resets_its_connection_mid_body_is_let_go_without_a_503()
    {
        const int Resets = 20;
        using var anonymous = Server.Client(null);
        async Task<(double All, double Unavailable)> CountAsync()
        {
            var text = await anonymous.GetStringAsync("metrics");
            static bool Route(IReadOnlyDictionary<string, string> labels) => labels.GetValueOrDefault("http_route") == "/v1/completions";
            return (
                Capacity.MetricsText.Sum(text, ["http_server_request_duration_seconds_count"], Route) ?? 0,
                Capacity.MetricsText.Sum(text, ["http_server_request_duration_seconds_count"], l => Route(l) && l.GetValueOrDefault("http_response_status_code") == "503") ?? 0);
        }

        var before = await CountAsync();
        var errors = fixture.Log.Errors.Count;
        for (var i = 0; i < Resets; i++)
        {
            await using var connection = await RawHttpConnection.OpenAsync(Server.BaseAddress);
            await connection.SendAsync(System.Text.Encoding.ASCII.GetBytes(
                $"POST /v1/completions HTTP/1.1\r\nHost: tokengrid\r\nAuthorization: Bearer {TokenGridServer.DemoKey}\r\n" +
                "Content-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n"));
            Assert.Equal(100, (await connection.ReadResponseAsync())?.Status);
            await connection.SendAsync("{\"model\":"u8.ToArray());
            await connection.WaitUntilServerReadAsync();
            connection.Reset();
        }

        // Each request is counted once the API is done with it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var after = await CountAsync();
        while (after.All < before.All + Resets)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The API finished {after.All - before.All} of the {Resets} requests.");
            await Task.Delay(100);
            after = await CountAsync();
        }

        Assert.Equal(before.Unavailable, after.Unavailable);
        Assert.True(fixture.Log.Errors.Count == errors, string.Join(Environment.NewLine, fixture.Log.Errors.Skip(errors)));
    }

    /// <summary>Sends one request the way it asks to end; returns what came back and whether the connection can carry another.</summary>
    internal static async Task<(List<RawHttpResponse?> Answers, bool Reusable)> ExchangeAsync(RawHttpConnection connection, ByteRequest request)
    {
        await connection.SendAsync(request.Bytes);
        switch (request.Ending)
        {
            case RawEnding.Abort:
                return ([], false);
            case RawEnding.HalfClose:
                connection.EndSending();
                return ([await connection.ReadResponseAsync()], false);
            case RawEnding.ReadTwo:
                var first = await connection.ReadResponseAsync();
                if (first is null || first.Closes)
                {
                    return ([first], false);
                }

                // The bytes past Content-Length are the next "request": Kestrel refuses them, or waits for the rest.
                connection.EndSending();
                return ([first, await connection.ReadResponseAsync()], false);
            default:
                var answer = await connection.ReadResponseAsync();
                return ([answer], answer is { Closes: false });
        }
    }

    /// <summary>What is wrong with <paramref name="answer"/> to <paramref name="request"/>, or null when it is right.</summary>
    internal static string? Verify(ByteRequest request, RawHttpResponse? answer)
    {
        if (answer is null)
        {
            // Only a client that stopped sending (or a request Kestrel drops) may see the connection close unanswered.
            return request.Ending is RawEnding.HalfClose or RawEnding.ReadTwo || request.ServerMayRefuse ? null : $"No answer to {request}";
        }

        if (answer.Status >= 500)
        {
            return $"{answer.Status} to {request}:{Environment.NewLine}{answer.Text}";
        }

        if (answer.Status < 400)
        {
            return null;
        }

        if (answer.Body.Length == 0 && answer.MediaType is null)
        {
            // Kestrel's own refusal, before the application ran.
            return request.ServerMayRefuse || request.Ending is RawEnding.HalfClose or RawEnding.ReadTwo
                ? null
                : $"A bare {answer.Status} (not a problem) to {request}";
        }

        if (request.Target == SignIn && answer is { Status: 401 or 429, MediaType: "text/html" })
        {
            return null;
        }

        if (answer.MediaType != "application/problem+json")
        {
            return $"{answer.Status} as {answer.MediaType} to {request}:{Environment.NewLine}{answer.Text}";
        }

        try
        {
            var problem = JsonNode.Parse(answer.Body)!.AsObject();
            var error = problem["error"]!.AsObject();
            return problem["status"]!.GetValue<int>() == answer.Status && problem["title"] is not null
                && error["message"]!.GetValue<string>().Length > 0 && error["type"]!.GetValue<string>().Length > 0 && error.ContainsKey("param")
                ? null
                : $"A problem of the wrong shape to {request}:{Environment.NewLine}{answer.Text}";
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NullReferenceException or InvalidOperationException)
        {
            return $"A problem of the wrong shape ({e.Message}) to {request}:{Environment.NewLine}{answer.Text}";
        }
    }
}
