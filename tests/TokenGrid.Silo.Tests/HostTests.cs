using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Hosting;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>Probes, metrics, the OpenAPI document and startup validation.</summary>
[Collection(ServerCollection.Name)]
public sealed class HostTests(ServerFixture fixture)
{
    private TokenGridServer Server => fixture.Server;

    [Theory]
    [InlineData("health/startup")]
    [InlineData("health/ready")]
    [InlineData("health/live")]
    public async Task Health_probes_are_healthy_once_started(string path)
    {
        using var client = Server.Client(null);
        var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Metrics_show_tokengrid_series_after_a_completion()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Metrics", max_tokens = 2 })).ReadJsonAsync();

        using var anonymous = Server.Client(null);
        var metrics = await anonymous.GetStringAsync("metrics");
        Assert.Contains("tokengrid_admissions_total", metrics);
        Assert.Contains("tokengrid_requests_total", metrics);
        Assert.Contains("service_name=\"tokengrid\"", metrics);
    }

    [Fact]
    public async Task The_openapi_document_is_served()
    {
        using var anonymous = Server.Client(null);
        var document = await anonymous.GetStringAsync("openapi/v1.json");
        Assert.Contains("\"/v1/chat/completions\"", document);
        Assert.Contains("\"/v1/jobs/{id}/events\"", document);
        Assert.Contains("\"/admin/tenants\"", document);

        // A problem's schema holds what the problems carry beyond RFC 9457's members.
        var problem = JsonNode.Parse(document)!["components"]!["schemas"]!["ProblemDetails"]!["properties"]!;
        Assert.Equal(["code", "message", "param", "type"], problem["error"]!["properties"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.NotNull(problem["trace_id"]);
        Assert.NotNull(problem["job_id"]);

        // A statement comes as JSON or CSV: both are the one 200's media types.
        var paths = JsonNode.Parse(document)!["paths"]!;
        foreach (var path in new[] { "/v1/billing/statements/{period}", "/admin/tenants/{id}/statements/{period}" })
        {
            var ok = paths[path]!["get"]!["responses"]!["200"]!["content"]!.AsObject();
            Assert.Equal(["application/json", "text/csv"], ok.Select(c => c.Key).Order(StringComparer.Ordinal));
            Assert.Equal("string", ok["text/csv"]!["schema"]!["type"]!.GetValue<string>());
        }
    }

    [Theory]
    [InlineData("/v1/jobs", "limit", "integer")]
    [InlineData("/v1/jobs", "before", "string")]
    [InlineData("/admin/tenants/{id}/ledger", "after", "integer")]
    [InlineData("/admin/tenants/{id}/ledger", "limit", "integer")]
    [InlineData("/v1/capacity", "tenant_tpm", "integer")]
    [InlineData("/v1/capacity", "top", "integer")]
    public async Task The_openapi_document_lists_the_query_parameters_the_api_reads_itself(string path, string name, string type)
    {
        using var anonymous = Server.Client(null);
        var document = JsonNode.Parse(await anonymous.GetStringAsync("openapi/v1.json"))!;
        var parameters = document["paths"]![path]!["get"]!["parameters"]!.AsArray();
        var parameter = Assert.Single(parameters, p => p!["name"]!.GetValue<string>() == name)!;
        Assert.Equal("query", parameter["in"]!.GetValue<string>());
        Assert.Equal(type, parameter["schema"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_openapi_document_lists_the_security_schemes_and_which_operation_takes_which()
    {
        using var anonymous = Server.Client(null);
        var document = JsonNode.Parse(await anonymous.GetStringAsync("openapi/v1.json"))!;
        var schemes = document["components"]!["securitySchemes"]!.AsObject();
        foreach (var bearer in new[] { "TenantKey", "AdminKey", "PlannerKey" })
        {
            Assert.Equal("http", schemes[bearer]!["type"]!.GetValue<string>());
            Assert.Equal("bearer", schemes[bearer]!["scheme"]!.GetValue<string>());
        }

        Assert.Equal("apiKey", schemes["DashboardCookie"]!["type"]!.GetValue<string>());
        Assert.Equal("cookie", schemes["DashboardCookie"]!["in"]!.GetValue<string>());
        Assert.Equal(PlannerAuth.CookieName, schemes["DashboardCookie"]!["name"]!.GetValue<string>());

        Assert.Equal(["TenantKey"], SchemesOf(document, "/v1/chat/completions", "post"));
        Assert.Equal(["TenantKey"], SchemesOf(document, "/v1/jobs/{id}/events", "get"));
        Assert.Equal(["AdminKey"], SchemesOf(document, "/admin/tenants", "get"));
        Assert.Equal(["PlannerKey", "AdminKey", "DashboardCookie"], SchemesOf(document, "/v1/capacity", "get"));
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_at_start()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TokenGridServer.StartAsync(new Dictionary<string, string> { ["TokenGrid:Api:MaxRequestBodyBytes"] = "10" }));
        Assert.Contains("TokenGrid:Api", error.Message);

        await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TokenGridServer.StartAsync(new Dictionary<string, string> { ["TokenGrid:Cluster:SiloPort"] = "0" }));
        var profile = await Assert.ThrowsAsync<StartupConfigurationException>(() =>
            TokenGridServer.StartAsync(new Dictionary<string, string> { ["profile"] = "no-such-profile" }));
        Assert.StartsWith("configuration profile 'no-such-profile' (--profile or TOKENGRID_PROFILE) not found", profile.Message, StringComparison.Ordinal);
        Assert.EndsWith("name one of kubernetes, local, postgres, or a file ending in .json.", profile.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(120, "120ms")]
    [InlineData(1000, "1s")]
    [InlineData(1500, "1.5s")]
    [InlineData(17_280, "17.28s")]
    [InlineData(360_000, "6m0s")]
    [InlineData(3_723_000, "1h2m3s")]
    public void Durations_are_formatted_like_openai(int milliseconds, string expected) =>
        Assert.Equal(expected, RateLimitHeaders.FormatDuration(TimeSpan.FromMilliseconds(milliseconds)));

    [Fact]
    public async Task A_transient_storage_error_while_provisioning_the_demo_tenant_is_retried_and_the_silo_starts()
    {
        var store = new TransientlyFailingTenantStore(failures: 2);
        await using var server = await TokenGridServer.StartAsync(
            new Dictionary<string, string> { ["TokenGrid:Database:StartupRetryDelay"] = "00:00:00.010" },
            services: services => services.AddSingleton<ITenantStore>(provider =>
                store.Wrap(ActivatorUtilities.CreateInstance<InMemoryTenantStore>(provider))));

        Assert.Equal(3, store.Loads);
        using var client = server.Client(TokenGridServer.DemoKey);
        var usage = await (await client.GetAsync("v1/usage")).ReadJsonAsync();
        Assert.Equal(TokenGridServer.DemoTenant, usage["tenant_id"]!.GetValue<string>());
    }

    /// <summary>The in-memory tenant store, whose first loads fail as a PostgreSQL connection cut by a restart does.</summary>
    private sealed class TransientlyFailingTenantStore(int failures) : ITenantStore
    {
        private ITenantStore? _inner;
        private int _loads;

        public int Loads => Volatile.Read(ref _loads);

        public ITenantStore Wrap(ITenantStore inner)
        {
            _inner = inner;
            return this;
        }

        public Task<StoredTenant?> LoadAsync(string tenantId, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _loads) <= failures
                ? throw new NpgsqlException("Exception while reading from stream (the server closed the connection)")
                : _inner!.LoadAsync(tenantId, cancellationToken);

        public Task<TenantSaveResult> SaveAsync(TenantSave save, CancellationToken cancellationToken = default) =>
            _inner!.SaveAsync(save, cancellationToken);

        public Task<IReadOnlyDictionary<string, long>> VersionsAsync(CancellationToken cancellationToken = default) =>
            _inner!.VersionsAsync(cancellationToken);
    }

    /// <summary>The security schemes of an operation, one per requirement (any one suffices).</summary>
    private static List<string> SchemesOf(JsonNode document, string path, string method) =>
        [.. document["paths"]![path]![method]!["security"]!.AsArray().SelectMany(requirement => requirement!.AsObject().Select(scheme => scheme.Key))];
}
