using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Hardening;

/// <summary>
/// Seeded fuzzing of the HTTP API: valid requests of every endpoint that takes a body, mutated (values of other types
/// or at the edges of their range, properties removed, added or given twice, text cut, bytes broken), and hostile path
/// segments and query strings. Every answer must be below 500, and every 4xx an RFC 9457 problem naming its status.
/// What was accepted must still end: every async job the fuzzing created finishes, and no reservation stays open.
/// </summary>
/// <remarks>
/// The seed is fixed, so a run is the same every time; <c>TOKENGRID_FUZZ_SEED</c> and <c>TOKENGRID_FUZZ_CASES</c>
/// (mutations per endpoint) explore further. A failure prints the request, so it can be replayed.
/// </remarks>
[Collection(ServerCollection.Name)]
public sealed class FuzzTests(ServerFixture fixture) : FuzzSuite(fixture.Server);

/// <summary>The same on the postgres profile, where production runs.</summary>
[Collection(PostgresServerCollection.Name)]
public sealed class PostgresFuzzTests(PostgresServerFixture fixture) : FuzzSuite(fixture.Server);

/// <summary>The tests of <see cref="FuzzTests"/>, on either profile.</summary>
public abstract class FuzzSuite(TokenGridServer server)
{
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("TOKENGRID_FUZZ_SEED"), out var seed) ? seed : 20261125;
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("TOKENGRID_FUZZ_CASES"), out var cases) ? cases : 60;

    private static readonly string[] HostileSegments =
    [
        "", " ", "%20", "..", "%2E%2E", "%2F", "a%2Fb", "%01", "%FF", "%C3%28", "-1", "0", "99999999999999999999",
        "null", "undefined", "{}", "%7B%7D", "<script>", "'%20OR%201=1--", "%F0%9F%A6%80", new string('j', 3000),
        "job-" + Guid.Empty.ToString("N"), "%25", "?", "%3F", "#", "~", "%E2%80%AE",
    ];

    private TokenGridServer Server => server;

    [Fact]
    public async Task Mutated_tenant_requests_are_never_a_server_error_and_every_accepted_job_settles()
    {
        // 256 tokens a minute: a request that would generate to the end of the context (max_tokens removed or huge) is
        // refused as larger than the limit, so the valid requests the fuzzing makes stay a few tokens long.
        var (_, key) = await Server.CreateTenantAsync(new
        {
            tokens_per_minute = 256,
            requests_per_minute = 1_000_000,
            max_concurrent_jobs = 1_000,
        });
        using var client = Server.Client(key);
        var jobs = new List<string>();
        // A stored response (store is true by default) whose message the item_reference seed sends back.
        var stored = await client.PostOkAsync("v1/responses", """{"model":"demo","input":"Hi","max_output_tokens":1}""");
        var storedItem = stored["output"]![0]!["id"]!.GetValue<string>();
        var seeds = new (string Path, string Body)[]
        {
            ("v1/responses", $$"""{"model":"demo","input":[{"role":"user","content":"Hi"},{"type":"item_reference","id":"{{storedItem}}"},{"role":"user","content":"More"}],"max_output_tokens":2,"store":false}"""),
            ("v1/completions", """{"model":"demo","prompt":"Hello","max_tokens":2,"temperature":0.5,"stop":["\n"],"seed":3}"""),
            ("v1/completions", """{"model":"demo","prompt":[1,2,3],"max_tokens":2,"stream":true,"stream_options":{"include_usage":true}}"""),
            ("v1/chat/completions", """{"model":"demo","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hello"}]}],"max_tokens":2,"top_p":0.9,"stream":false}"""),
            ("v1/jobs", """{"model":"demo","prompt":"Hello","max_tokens":1,"temperature":0.7,"top_p":0.9,"top_k":5,"seed":7,"stop":"x"}"""),
            ("v1/jobs", """{"model":"demo","messages":[{"role":"user","content":"Hi"}],"max_tokens":1}"""),
            ("v1/responses", """{"model":"demo","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"Hello"}]},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi","annotations":[]}]}],"max_output_tokens":2,"temperature":0.5,"store":false}"""),
            ("v1/responses", """{"model":"demo","input":"Hi","max_output_tokens":2,"stream":true,"text":{"format":{"type":"json_schema","name":"a","strict":true,"schema":{"type":"object","properties":{"n":{"type":"integer"}}}}}}"""),
            // Function calls and their outputs in the input (the demo model takes them without tools), tools and a named choice, log probabilities.
            ("v1/responses", """{"model":"demo","input":[{"role":"user","content":"Hi"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"x","annotations":[],"logprobs":[]}]},{"type":"function_call","call_id":"call_1","name":"f","arguments":"{\"a\":1}","id":"fc_1","status":"completed"},{"type":"function_call_output","call_id":"call_1","output":[{"type":"input_text","text":"2"}]}],"tools":[{"type":"function","name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"integer"}}},"strict":true}],"tool_choice":{"type":"function","name":"f"},"parallel_tool_calls":false,"max_output_tokens":2}"""),
            ("v1/responses", """{"model":"demo","input":[{"type":"function_call","call_id":"call_1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"call_1","output":"2"}],"max_output_tokens":2,"stream":true,"include":["message.output_text.logprobs"],"top_logprobs":2,"tool_choice":"none"}"""),
            ("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"1"}],"max_tokens":2,"response_format":{"type":"json_schema","json_schema":{"name":"a","strict":true,"schema":{"type":"object","properties":{"n":{"type":"integer"}}}}}}"""),
            // Several prompts in each list form: each item's type, or the list's length, mutated.
            ("v1/completions", """{"model":"demo","prompt":["Hello","Hi"],"max_tokens":2,"n":2,"seed":3,"echo":true}"""),
            ("v1/completions", """{"model":"demo","prompt":[[1,2,3],[4],[5,6]],"max_tokens":1,"logprobs":1,"stream":true,"stream_options":{"include_usage":true}}"""),
        };

        for (var s = 0; s < seeds.Length; s++)
        {
            var (path, valid) = seeds[s];
            var mutator = new JsonMutator(Seed + s);
            for (var i = 0; i < Cases; i++)
            {
                var body = mutator.Mutate(valid);
                var answer = await SendAsync(client, HttpMethod.Post, path, body);
                if (path == "v1/jobs" && answer.Status is HttpStatusCode.Accepted or HttpStatusCode.Created or HttpStatusCode.OK)
                {
                    jobs.Add(JsonNode.Parse(answer.Text)!["id"]!.GetValue<string>());
                }
            }
        }

        await client.AssertEveryJobEndedAndSettledAsync(jobs);
    }

    [Fact]
    public async Task Mutated_admin_requests_are_never_a_server_error()
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var (target, _) = await Server.CreateTenantAsync();
        const string budget = """{"tokens_per_minute":1000,"requests_per_minute":10,"max_concurrent_jobs":2,"period_quota":100000,"period":"monthly","priority":"standard","weight":2,"required_labels":{"region":"eu"}}""";
        var seeds = new (HttpMethod Method, string Path, string Body)[]
        {
            (HttpMethod.Post, "admin/tenants", $$"""{"id":"fz-{{Guid.NewGuid():N}}","name":"Fuzz","budget":{{budget}},"enabled":true}"""),
            (HttpMethod.Put, $"admin/tenants/{target}", $$"""{"name":"Fuzz","budget":{{budget}},"enabled":true}"""),
            (HttpMethod.Patch, $"admin/tenants/{target}", """{"name":"Fuzz","budget":{"weight":3,"required_labels":{"region":"eu"}},"enabled":true}"""),
            (HttpMethod.Post, $"admin/tenants/{target}/keys", """{"name":"fuzz"}"""),
        };

        for (var s = 0; s < seeds.Length; s++)
        {
            var (method, path, valid) = seeds[s];
            var mutator = new JsonMutator(Seed + 100 + s);
            for (var i = 0; i < Cases; i++)
            {
                await SendAsync(admin, method, path, mutator.Mutate(valid));
            }
        }

        // The tenant the fuzzing changed can still be read and replaced with a valid body.
        await (await admin.GetAsync($"admin/tenants/{target}")).ReadJsonAsync();
        var replaced = await SendAsync(admin, HttpMethod.Put, $"admin/tenants/{target}", Encoding.UTF8.GetBytes($$"""{"budget":{{budget}}}"""));
        Assert.True(replaced.Status == HttpStatusCode.OK, replaced.Text);
    }

    [Fact]
    public async Task Hostile_paths_and_queries_are_never_a_server_error()
    {
        var (tenantId, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        using var admin = Server.Client(TokenGridServer.AdminKey);
        foreach (var x in HostileSegments)
        {
            await SendAsync(client, HttpMethod.Get, $"v1/jobs/{x}");
            await SendAsync(client, HttpMethod.Get, $"v1/responses/{x}");
            await SendAsync(client, HttpMethod.Delete, $"v1/responses/{x}");
            await SendAsync(client, HttpMethod.Post, $"v1/jobs/{x}/cancel");
            await SendAsync(client, HttpMethod.Delete, $"v1/jobs/{x}");
            await SendAsync(client, HttpMethod.Get, $"v1/jobs/{x}/events");
            await SendAsync(client, HttpMethod.Get, $"v1/jobs?limit={x}&after={x}");
            await SendAsync(client, HttpMethod.Get, $"v1/jobs?after={x}");
            await SendAsync(client, HttpMethod.Get, $"v1/models/{x}");
            await SendAsync(client, HttpMethod.Get, $"v1/usage?model={x}");
            await SendAsync(admin, HttpMethod.Get, $"admin/tenants/{x}");
            await SendAsync(admin, HttpMethod.Get, $"admin/tenants/{x}/ledger");
            await SendAsync(admin, HttpMethod.Get, $"admin/tenants/{tenantId}/ledger?after={x}&limit={x}");
            await SendAsync(admin, HttpMethod.Get, $"admin/tenants/{tenantId}/keys");
            await SendAsync(admin, HttpMethod.Delete, $"admin/tenants/{tenantId}/keys/{x}");
            await SendAsync(admin, HttpMethod.Get, $"admin/nodes/{x}");
            await SendAsync(admin, HttpMethod.Get, $"admin/capacity/labels?{x}={x}");
            await SendAsync(admin, HttpMethod.Get, $"admin/audit?after={x}&limit={x}");
            await SendAsync(admin, HttpMethod.Get, $"admin/audit?action={x}&target={x}");
        }

        // A forged or mangled dashboard session cookie opens nothing and breaks nothing.
        using var anonymous = Server.Client(null);
        foreach (var cookie in new[] { "", ".", "..", "a.b.c", "admin.1.x", "Admin.99999999999999999999.AAAA", "0.4102444800.AAAA", "planner.4102444800.!!!!", "planner.-1.AAAA", new string('a', 3000) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "v1/capacity");
            request.Headers.TryAddWithoutValidation("Cookie", $"tokengrid_dashboard={cookie}");
            using var response = await anonymous.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, (await Check(request.Method, $"v1/capacity (cookie '{Shorten(cookie)}')", null, response)).Status);
        }

        // Kestrel itself refuses a NUL in the path and a request line over its limit (8 KiB), before the application
        // runs: a bare 400 or 414 that closes the connection.
        using (var nul = await client.GetAsync("v1/jobs/%00"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, nul.StatusCode);
        }

        using (var longLine = await client.GetAsync("v1/jobs/" + new string('j', 9000)))
        {
            Assert.Equal(HttpStatusCode.RequestUriTooLong, longLine.StatusCode);
        }

        // A job watched from a hostile Last-Event-ID still streams from a sane place. A tenant of its own: a hostile key
        // id of ".." above made DELETE admin/tenants/{tenant}/keys/.. a deletion of the first tenant, keys and all.
        var (_, watcherKey) = await Server.CreateTenantAsync();
        using var watcher = Server.Client(watcherKey);
        var job = await (await watcher.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Hi", max_tokens = 1 })).ReadJsonAsync(HttpStatusCode.Accepted);
        foreach (var lastEventId in new[] { "-1", "abc", "99999999999999999999", "1e9", " ", "%00" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/jobs/{job["id"]}/events");
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
            using var response = await watcher.SendAsync(request);
            await Check(request.Method, request.RequestUri!.ToString(), null, response);
        }
    }

    /// <summary>Sends one request and checks the answer; returns its status and text.</summary>
    private static async Task<(HttpStatusCode Status, string Text)> SendAsync(HttpClient client, HttpMethod method, string path, byte[]? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        using var response = await client.SendAsync(request);
        return await Check(method, path, body, response);
    }

    private static async Task<(HttpStatusCode Status, string Text)> Check(HttpMethod method, string path, byte[]? body, HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        var status = (int)response.StatusCode;
        var shown = body is null ? "" : " " + Shorten(Encoding.UTF8.GetString(body));
        Assert.True(status < 500, $"{method} {Shorten(path)}{shown} → {status}: {Shorten(text)}");
        if (status >= 400)
        {
            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json",
                $"{method} {Shorten(path)}{shown} → {status} as {response.Content.Headers.ContentType}: {Shorten(text)}");
            var problem = JsonNode.Parse(text)!.AsObject();
            Assert.Equal(status, problem["status"]!.GetValue<int>());
        }

        return (response.StatusCode, text);
    }

    private static string Shorten(string text) => text.Length <= 400 ? text : text[..400] + $"… ({text.Length} chars)";
}
