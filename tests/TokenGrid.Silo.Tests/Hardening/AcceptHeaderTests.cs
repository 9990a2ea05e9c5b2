using System.Net;
using System.Net.Http.Headers;
using System.Text;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Hardening;

/// <summary>
/// Every error is a problem+json whatever the request's <c>Accept</c> says: an SSE client (<c>text/event-stream</c>), a
/// browser (<c>text/html</c>) or anything else gets the same 4xx with the same body as a JSON client, never a 500 or an
/// empty body, and the refusal is not logged at Error (where its text, a model name say, would land).
/// </summary>
public sealed class AcceptHeaderTests(ByteFuzzServerFixture fixture) : IClassFixture<ByteFuzzServerFixture>
{
    private const string Marker = "Zq7AcceptMarker";

    public static TheoryData<string?> Accepts => new()
    {
        "text/event-stream", "text/html", "text/plain", "application/xml", "image/png", "text/html, application/xhtml+xml", "application/json", null,
    };

    private TokenGridServer Server => fixture.Server;

    [Theory]
    [MemberData(nameof(Accepts))]
    public async Task Every_error_is_a_problem_whatever_Accept_says_and_none_is_logged_at_error(string? accept)
    {
        var (_, key) = await Server.CreateTenantAsync();
        using var client = Client(key, accept);
        var logged = fixture.Log.Errors.Count;

        // 404s: an API lookup (the job's and its SSE stream's, the model's) and the router's own.
        await (await client.GetAsync("v1/jobs/job_nope")).AssertProblemAsync(HttpStatusCode.NotFound, "job_not_found");
        await (await client.GetAsync("v1/jobs/job_nope/events")).AssertProblemAsync(HttpStatusCode.NotFound, "job_not_found");
        await (await Post(client, $$"""{"model":"{{Marker}}","prompt":"x"}""")).AssertProblemAsync(HttpStatusCode.NotFound, "model_not_found");
        await (await client.GetAsync("v1/nothing-here")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");

        // A 400 of the API's checks, a 405 of the router's, a 409 of the admin API's.
        var invalid = await (await Post(client, """{"model":"demo","prompt":"hi","max_tokens":0,"stream":true}""")).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("max_tokens", invalid["error"]!["param"]!.GetValue<string>());
        await (await client.PutAsync("v1/completions", null)).AssertProblemAsync(HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        using var admin = Client(TokenGridServer.AdminKey, accept);
        await (await admin.PostAsync("admin/tenants", new StringContent("""{"id":"demo"}""", Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.Conflict, "tenant_exists");

        AssertNothingLoggedSince(logged);
    }

    [Theory]
    [MemberData(nameof(Accepts))]
    public async Task A_streaming_client_over_its_rate_limit_gets_a_429_problem_with_Retry_After(string? accept)
    {
        var (_, key) = await Server.CreateTenantAsync(new { requests_per_minute = 1 });
        using var client = Client(key, accept);
        const string body = """{"model":"demo","prompt":"hi","max_tokens":1,"stream":true}""";
        using (var first = await Post(client, body))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            await first.Content.ReadAsStringAsync();
        }

        var logged = fixture.Log.Errors.Count;
        var refused = await Post(client, body);
        await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.NotNull(refused.Headers.RetryAfter);
        AssertNothingLoggedSince(logged);
    }

    /// <summary>No Error line since the log held <paramref name="count"/> (the tests of a class run one at a time).</summary>
    private void AssertNothingLoggedSince(int count)
    {
        var errors = fixture.Log.Errors.Skip(count).ToList();
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors.Take(5)));
    }

    private HttpClient Client(string key, string? accept)
    {
        var client = Server.Client(key);
        if (accept is not null)
        {
            client.DefaultRequestHeaders.Accept.ParseAdd(accept);
        }

        return client;
    }

    private static Task<HttpResponseMessage> Post(HttpClient client, string body) =>
        client.PostAsync("v1/completions", new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")));
}
