using System.Net;
using System.Text;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>Bad input gets the right 4xx as problem+json with OpenAI's error object, never a 500.</summary>
[Collection(ServerCollection.Name)]
public sealed class BadInputTests(ServerFixture fixture) : BadInputSuite(fixture.Server);

/// <summary>The same on the postgres profile, where production runs.</summary>
[Collection(PostgresServerCollection.Name)]
public sealed class PostgresBadInputTests(PostgresServerFixture fixture) : BadInputSuite(fixture.Server);

/// <summary>The tests of <see cref="BadInputTests"/>, on either profile.</summary>
public abstract class BadInputSuite(TokenGridServer server)
{
    private TokenGridServer Server => server;

    private HttpClient Client() => Server.Client(TokenGridServer.DemoKey);

    [Theory]
    [InlineData("v1/completions", "{\"model\": \"demo\", \"prompt\": ")]
    [InlineData("v1/chat/completions", "{\"model\": \"demo\", \"messages\": [}")]
    [InlineData("v1/jobs", "[1, 2, 3]")]
    [InlineData("v1/completions", "")]
    [InlineData("v1/completions", "{\"model\": \"other\", \"model\": \"demo\", \"prompt\": \"x\"}")]
    [InlineData("v1/chat/completions", "{\"model\": \"demo\", \"messages\": [{\"role\": \"user\", \"content\": \"x\", \"role\": \"system\"}]}")]
    [InlineData("v1/jobs", "{\"model\": \"demo\", \"prompt\": \"x\", \"max_tokens\": 1, \"max_tokens\": 2}")]
    public async Task Malformed_json_is_400(string path, string body)
    {
        using var client = Client();
        var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(problem["error"]!["code"]!.GetValue<string>(), new[] { "invalid_json", "invalid_request" });
    }

    [Theory]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","max_tokens":"many"}""", "max_tokens", "Invalid type for 'max_tokens': expected an integer, but got a string instead.")]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","max_tokens":"2"}""", "max_tokens", "Invalid type for 'max_tokens': expected an integer, but got a string instead.")]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","echo":"yes"}""", "echo", "Invalid type for 'echo': expected a boolean, but got a string instead.")]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","n":1.5}""", "n", "Invalid type for 'n': expected an integer, but got a decimal instead.")]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","max_tokens":9223372036854775808}""", "max_tokens", "Invalid value for 'max_tokens': 9223372036854775808 is out of range.")]
    [InlineData("v1/chat/completions", """{"model":"demo","messages":"hello"}""", "messages", "Invalid type for 'messages': expected an array, but got a string instead.")]
    [InlineData("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"x","name":5}]}""", "messages[0].name", "Invalid type for 'messages[0].name': expected a string, but got an integer instead.")]
    [InlineData("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":1},"stream":true}""", "stream_options.include_usage", "Invalid type for 'stream_options.include_usage': expected a boolean, but got an integer instead.")]
    [InlineData("v1/jobs", """{"model":"demo","prompt":"x","temperature":true}""", "temperature", "Invalid type for 'temperature': expected a number, but got a boolean instead.")]
    public async Task A_value_of_the_wrong_type_is_400_invalid_type_naming_its_field(string path, string body, string param, string detail)
    {
        using var client = Client();
        var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
        Assert.Equal(detail, problem["detail"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"budget":{"period":"weekly"}}""", "budget.period", "invalid_value", "Invalid value for 'budget.period': \"weekly\" is not one of daily, monthly.")]
    [InlineData("""{"budget":{"priority":"urgent"}}""", "budget.priority", "invalid_value", "Invalid value for 'budget.priority': \"urgent\" is not one of low, standard, high.")]
    [InlineData("""{"budget":{"period":1}}""", "budget.period", "invalid_type", "Invalid type for 'budget.period': expected a string, but got an integer instead.")]
    [InlineData("""{"budget":{"period":"1"}}""", "budget.period", "invalid_value", "Invalid value for 'budget.period': \"1\" is not one of daily, monthly.")]
    [InlineData("""{"budget":{"weight":0}}""", "budget.weight", "invalid_value", "weight must be between 1 and 10000.")]
    [InlineData("""{"name":"  "}""", "name", "invalid_value", "name must be 1 to 200 characters.")]
    public async Task An_invalid_tenant_field_is_400_naming_it_by_its_path_in_the_body(string fields, string param, string code, string detail)
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var body = $$"""{"id":"t-{{Guid.NewGuid():N}}",{{fields[1..]}}""";
        var response = await admin.PostAsync("admin/tenants", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, code);
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
        Assert.Equal(detail, problem["detail"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","MAX_TOKENS":2}""", "MAX_TOKENS")]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","Stop":"y"}""", "Stop")]
    [InlineData("v1/chat/completions", """{"model":"demo","Messages":[{"role":"user","content":"x"}],"messages":[{"role":"user","content":"x"}]}""", "Messages")]
    public async Task Field_names_are_case_sensitive_as_OpenAI_reads_them(string path, string body, string param)
    {
        using var client = Client();
        var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "unrecognized_argument");
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","n":0}""", "n")]
    [InlineData("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"x"}],"n":129}""", "n")]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","temperature":5}""", "temperature")]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","top_p":0}""", "top_p")]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","max_tokens":0}""", "max_tokens")]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","stop":["a","b","c","d","e"]}""", "stop")]
    [InlineData("v1/completions", """{"model":"demo","prompt":"x","stop":7}""", "stop")]
    [InlineData("v1/completions", """{"model":"demo","prompt":[]}""", "prompt")]
    [InlineData("v1/completions", """{"model":"demo","prompt":[1, 999999999]}""", "prompt")]
    [InlineData("v1/completions", """{"model":"demo"}""", "prompt")]
    [InlineData("v1/completions", """{"prompt":"x"}""", "model")]
    [InlineData("v1/chat/completions", """{"model":"demo","messages":[]}""", "messages")]
    [InlineData("v1/chat/completions", """{"model":"demo","messages":[{"role":"wizard","content":"x"}]}""", "messages[0].role")]
    [InlineData("v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":[{"type":"image_url"}]}]}""", "messages[0].content")]
    [InlineData("v1/jobs", """{"model":"demo"}""", "prompt")]
    public async Task Invalid_values_are_400_naming_the_parameter(string path, string body, string param)
    {
        using var client = Client();
        var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(param, problem["error"]!["param"]?.GetValue<string>());
    }

    [Theory]
    [InlineData("v1/completions", """{"model":"gpt-17","prompt":"x"}""")]
    [InlineData("v1/chat/completions", """{"model":"gpt-17","messages":[{"role":"user","content":"x"}]}""")]
    [InlineData("v1/jobs", """{"model":"gpt-17","prompt":"x"}""")]
    public async Task An_unknown_model_is_404_model_not_found(string path, string body)
    {
        using var client = Client();
        var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.NotFound, "model_not_found");
        Assert.Equal("The model 'gpt-17' does not exist.", problem["detail"]!.GetValue<string>());
        await (await client.GetAsync("v1/models/gpt-17")).AssertProblemAsync(HttpStatusCode.NotFound, "model_not_found");
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_400_context_length_exceeded()
    {
        using var client = Client();
        var prompt = string.Concat(Enumerable.Repeat("hello ", 600));
        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "context_length_exceeded");
        await (await client.PostJsonAsync("v1/chat/completions", new { model = "demo", messages = new[] { new { role = "user", content = prompt } } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "context_length_exceeded");
    }

    [Fact]
    public async Task A_too_long_max_tokens_is_400_and_an_absent_one_fills_the_context()
    {
        using var client = Client();
        var prompt = string.Concat(Enumerable.Repeat("hello ", 500));
        var refused = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt, max_tokens = 100_000 }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "context_length_exceeded");
        Assert.Equal("max_tokens", refused["error"]!["param"]!.GetValue<string>());

        var response = await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt });
        var job = await response.ReadJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal($"/v1/jobs/{job["id"]}", response.Headers.Location?.ToString());

        // The reservation is prompt + the default max tokens capped at what fits: the whole context.
        var ledger = await Server.LedgerOfJobAsync(TokenGridServer.DemoTenant, job["id"]!.GetValue<string>());
        Assert.Equal(512, ledger.First(e => e["kind"]!.GetValue<string>() == "reserve")["tokens"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_with_or_without_a_length()
    {
        using var client = Client();
        var big = $$"""{"model":"demo","prompt":"{{new string('a', 1024 * 1024 + 10)}}"}""";
        // The silo answers from the length alone and closes without reading the body. A client that sends the body
        // anyway races that close (a broken pipe, seen in CI); one that asks "Expect: 100-continue" gets the answer first.
        using var sized = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = new StringContent(big, Encoding.UTF8, "application/json"),
        };
        sized.Headers.ExpectContinue = true;
        await (await client.SendAsync(sized)).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "request_too_large");

        using var chunked = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))),
        };
        chunked.Content.Headers.ContentType = new("application/json");
        chunked.Headers.TransferEncodingChunked = true;
        await (await client.SendAsync(chunked)).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "request_too_large");
    }

    [Theory]
    [InlineData("POST", "admin/tenants", """{"id":"{new}","name":"x","enabeld":false}""", "enabeld")]
    [InlineData("POST", "admin/tenants", """{"id":"{new}","Enabled":false}""", "Enabled")]
    [InlineData("POST", "admin/tenants", """{"id":"{new}","budget":{"tokens_per_minite":5}}""", "budget.tokens_per_minite")]
    [InlineData("PUT", "admin/tenants/{tenant}", """{"name":"x","budget":{"weight":2,"wieght":3}}""", "budget.wieght")]
    [InlineData("PATCH", "admin/tenants/{tenant}", """{"budget":{"tokens_per_minite":5}}""", "budget.tokens_per_minite")]
    [InlineData("PATCH", "admin/tenants/{tenant}", """{"budget":{"plan":{"name":"p","discount_bps":5000,"negotiated":[]}}}""", "budget.plan.discount_bps")]
    [InlineData("PATCH", "admin/tenants/{tenant}", """{"budget":{"plan":{"name":"p","discount_basis_points":0,"negotiated":[{"model":"demo","direction":"prompt","per_million":"0.1","regoin":"x"}]}}}""", "budget.plan.negotiated[0].regoin")]
    [InlineData("PATCH", "admin/tenants/{tenant}", """{"enabled":true,"nmae":"x"}""", "nmae")]
    [InlineData("POST", "admin/tenants/{tenant}/keys", """{"name":"k","expires_at":"2030-01-01T00:00:00Z"}""", "expires_at")]
    [InlineData("PUT", "admin/prices", """{"currency":"USD","prices":[{"model":"demo","direction":"prompt","per_million":"0.1"}],"efective_from":"2030-01-01T00:00:00Z"}""", "efective_from")]
    [InlineData("PUT", "admin/prices", """{"currency":"USD","prices":[{"model":"demo","direction":"prompt","per_milion":"0.1"}]}""", "prices[0].per_milion")]
    public async Task An_admin_field_nothing_reads_is_400_unrecognized_argument_naming_its_path_and_changes_nothing(
        string method, string path, string body, string param)
    {
        var (tenant, _) = await Server.CreateTenantAsync();
        var id = "t-" + Guid.NewGuid().ToString("N")[..12];
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var before = await (await admin.GetAsync($"admin/tenants/{tenant}")).ReadJsonAsync();
        var cards = (await (await admin.GetAsync("admin/prices")).ReadJsonAsync())["data"]!.AsArray().Count;

        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{tenant}", tenant, StringComparison.Ordinal))
        {
            Content = new StringContent(body.Replace("{new}", id, StringComparison.Ordinal), Encoding.UTF8, "application/json"),
        };
        var problem = await (await admin.SendAsync(request)).AssertProblemAsync(HttpStatusCode.BadRequest, "unrecognized_argument");
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
        Assert.Equal($"Unrecognized request argument supplied: {param}", problem["detail"]!.GetValue<string>());

        await (await admin.GetAsync($"admin/tenants/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "tenant_not_found");
        var after = await (await admin.GetAsync($"admin/tenants/{tenant}")).ReadJsonAsync();
        Assert.Equal(before.ToJsonString(), after.ToJsonString());
        Assert.Equal(cards, (await (await admin.GetAsync("admin/prices")).ReadJsonAsync())["data"]!.AsArray().Count);
        Assert.Single((await (await admin.GetAsync($"admin/tenants/{tenant}/keys")).ReadJsonAsync())["data"]!.AsArray());
    }

    [Theory]
    [InlineData("v1/jobs?limit=abc", "limit")]
    [InlineData("v1/jobs?limit=1.0", "limit")]
    [InlineData("v1/jobs?limit=", "limit")]
    [InlineData("v1/jobs?limit=%2B5", "limit")]
    [InlineData("v1/jobs?limit=1&limit=2", "limit")]
    [InlineData("v1/jobs?limit=0", "limit")]
    [InlineData("v1/jobs?before=a&before=b", "before")]
    [InlineData("admin/tenants/{tenant}/ledger?after=x", "after")]
    [InlineData("admin/tenants/{tenant}/ledger?after=-1", "after")]
    [InlineData("admin/tenants/{tenant}/ledger?after=1&after=2", "after")]
    [InlineData("admin/tenants/{tenant}/ledger?limit=1e1", "limit")]
    [InlineData("admin/tenants/{tenant}/ledger?limit=100000", "limit")]
    [InlineData("admin/audit?action=tenant.create&action=tenant.delete", "action")]
    [InlineData("admin/audit?target=a&target=b", "target")]
    [InlineData("admin/flows?period=2026-01&period=2026-02", "period")]
    [InlineData("admin/tenants/{tenant}/statements/2026-12?format=csv&format=json", "format")]
    [InlineData("v1/billing/statements/2026-12?format=csv&format=csv", "format")]
    [InlineData("v1/capacity?top=1&top=2", "top")]
    public async Task A_bad_query_value_is_400_invalid_value_naming_the_parameter(string path, string param)
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        var admin = path.StartsWith("admin/", StringComparison.Ordinal) || path.StartsWith("v1/capacity", StringComparison.Ordinal);
        using var client = Server.Client(admin ? TokenGridServer.AdminKey : key);
        var problem = await (await client.GetAsync(path.Replace("{tenant}", tenant, StringComparison.Ordinal)))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
        Assert.Contains($"'{param}'", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Framework_errors_are_problems_too()
    {
        using var client = Client();
        await (await client.GetAsync("v1/nothing-here")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await client.PostAsync("v1/completions", new StringContent("model=demo", Encoding.UTF8, "application/x-www-form-urlencoded")))
            .AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        await (await client.GetAsync("v1/jobs?limit=0")).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await client.GetAsync("v1/jobs?limit=abc")).AssertProblemAsync(HttpStatusCode.BadRequest);
    }
}
