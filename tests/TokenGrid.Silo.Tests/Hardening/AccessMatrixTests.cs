using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Routing;
using Orleans.Runtime;
using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Silo.Tests.Capacity;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Hardening;

/// <summary>
/// Every endpoint the silo maps, called with every credential: no key, an unknown key, a tenant key, the admin key, the
/// planner key and the auditor key. Each endpoint is classified here (public, tenant, admin, planner or auditor), and
/// each credential must get past authentication exactly where its class allows (any status but 401: a 404 for a
/// resource that does not exist, a 400 for an empty body). Elsewhere the auditor key on an admin endpoint gets 403
/// <c>forbidden</c> (a valid key of a role the endpoint does not open to, silo-config/README.md's error table) and
/// every other credential a 401. A public endpoint answers the same to every credential, and no call may end in a 5xx.
/// An endpoint added without a class here fails the test, so every new endpoint gets an access decision.
/// </summary>
public sealed class AccessMatrixTests(PlannerServerFixture fixture) : IClassFixture<PlannerServerFixture>
{
    /// <summary>Who may call an endpoint.</summary>
    public enum Access
    {
        /// <summary>Anyone: health probes, the scrape endpoint, the API description, the dashboard's sign-in.</summary>
        Public,

        /// <summary>A tenant's key (and only a tenant's).</summary>
        Tenant,

        /// <summary>The admin key.</summary>
        Admin,

        /// <summary>The planner key, the admin key (or a dashboard session).</summary>
        Planner,

        /// <summary>The auditor key or the admin key: the read-only ledger and billing views.</summary>
        Auditor,
    }

    private static readonly Dictionary<string, Access> Endpoints = new(StringComparer.Ordinal)
    {
        ["* /health/live"] = Access.Public,
        ["* /health/ready"] = Access.Public,
        ["* /health/startup"] = Access.Public,
        ["* /metrics"] = Access.Public,
        ["GET /openapi/{documentName}.json"] = Access.Public,
        ["GET /dashboard/"] = Access.Public,
        ["GET /dashboard/assets/{file}"] = Access.Public,
        ["GET /dashboard/spend"] = Access.Public,
        ["POST /dashboard/login"] = Access.Public,
        ["POST /dashboard/logout"] = Access.Public,

        ["POST /v1/completions"] = Access.Tenant,
        ["POST /v1/chat/completions"] = Access.Tenant,
        ["POST /v1/responses"] = Access.Tenant,
        ["GET /v1/responses/{id}"] = Access.Tenant,
        ["DELETE /v1/responses/{id}"] = Access.Tenant,
        ["GET /v1/models/"] = Access.Tenant,
        ["GET /v1/models/{**id}"] = Access.Tenant,
        ["POST /v1/jobs/"] = Access.Tenant,
        ["GET /v1/jobs/"] = Access.Tenant,
        ["GET /v1/jobs/{id}"] = Access.Tenant,
        ["POST /v1/jobs/{id}/cancel"] = Access.Tenant,
        ["DELETE /v1/jobs/{id}"] = Access.Tenant,
        ["GET /v1/jobs/{id}/events"] = Access.Tenant,
        ["GET /v1/usage"] = Access.Tenant,
        ["GET /v1/billing/events"] = Access.Tenant,
        ["PUT /v1/billing/webhook/"] = Access.Tenant,
        ["GET /v1/billing/webhook/"] = Access.Tenant,
        ["DELETE /v1/billing/webhook/"] = Access.Tenant,
        ["GET /v1/billing/statements/"] = Access.Tenant,
        ["GET /v1/billing/statements/{period}"] = Access.Tenant,

        ["POST /admin/tenants/"] = Access.Admin,
        ["GET /admin/tenants/"] = Access.Admin,
        ["GET /admin/tenants/{id}"] = Access.Admin,
        ["PUT /admin/tenants/{id}"] = Access.Admin,
        ["PATCH /admin/tenants/{id}"] = Access.Admin,
        ["DELETE /admin/tenants/{id}"] = Access.Admin,
        ["POST /admin/tenants/{id}/keys/"] = Access.Admin,
        ["GET /admin/tenants/{id}/keys/"] = Access.Admin,
        ["DELETE /admin/tenants/{id}/keys/{keyId}"] = Access.Admin,
        ["GET /admin/tenants/{id}/ledger"] = Access.Auditor,
        ["GET /admin/prices/"] = Access.Auditor,
        ["GET /admin/tenants/{id}/statements/"] = Access.Auditor,
        ["GET /admin/tenants/{id}/statements/{period}"] = Access.Auditor,
        ["POST /admin/periods/{period}/close"] = Access.Admin,
        ["GET /admin/audit"] = Access.Auditor,
        ["GET /admin/billing/overview"] = Access.Auditor,
        ["GET /admin/tenants/{id}/billing/events"] = Access.Auditor,
        ["GET /admin/flows"] = Access.Auditor,
        ["PUT /admin/prices/"] = Access.Admin,
        ["GET /admin/subsidies/"] = Access.Auditor,
        ["GET /admin/subsidies/{id}"] = Access.Auditor,
        ["PUT /admin/subsidies/{id}"] = Access.Admin,
        ["GET /admin/nodes"] = Access.Admin,
        ["GET /admin/nodes/{silo}/{device}/"] = Access.Admin,
        ["POST /admin/nodes/{silo}/{device}/drain"] = Access.Admin,
        ["POST /admin/nodes/{silo}/{device}/resume"] = Access.Admin,
        ["GET /admin/capacity/labels"] = Access.Admin,
        ["GET /admin/models"] = Access.Admin,

        ["GET /v1/capacity/"] = Access.Planner,
    };

    /// <summary>The Orleans Dashboard's endpoints, whatever its version maps, are the planner's.</summary>
    private const string OrleansDashboard = "/dashboard/orleans/";

    private TokenGridServer Server => fixture.Server;

    [Fact]
    public void Every_endpoint_is_listed_in_the_configuration_readme()
    {
        // silo-config/README.md's "Endpoints" says it lists every endpoint: each mapped path appears there (the OpenAPI
        // document as the one it serves).
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "silo-config", "README.md"));
        var start = readme.IndexOf("\n## Endpoints\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "no Endpoints section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = readme[start..(end < 0 ? readme.Length : end)];
        var unbracketed = section.Replace("[", "", StringComparison.Ordinal).Replace("]", "", StringComparison.Ordinal);

        // A path is listed where it ends: at the closing backquote, at its query, or (written "[/{x}]") at its optional
        // last segment. A longer path that starts with it does not list it.
        bool Listed(string path) =>
            section.Contains($"{path}`", StringComparison.Ordinal) || section.Contains($"{path}?", StringComparison.Ordinal)
            || section.Contains($"{path}[", StringComparison.Ordinal) || unbracketed.Contains($"{path}`", StringComparison.Ordinal);

        var missing = Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => e.RoutePattern.RawText!)
            .Where(p => !p.StartsWith(OrleansDashboard, StringComparison.Ordinal) && p != "/dashboard/assets/{file}")
            .Select(p => p.Replace("{documentName}", "v1", StringComparison.Ordinal).Replace("{**", "{", StringComparison.Ordinal).TrimEnd('/'))
            .Distinct()
            .Where(p => !Listed(p))
            .ToList();
        Assert.True(missing.Count == 0, "List these in silo-config/README.md, Endpoints: " + string.Join(", ", missing));
    }

    [Fact]
    public async Task Every_endpoint_admits_exactly_the_credentials_its_class_allows()
    {
        var (tenantId, tenantKey) = await Server.CreateTenantAsync();
        var credentials = new (string Name, string? Key, Access[] Opens, Access[] Forbids)[]
        {
            ("no key", null, [Access.Public], []),
            ("an unknown key", "tg-unknown-0123456789abcdef", [Access.Public], []),
            ("a tenant key", tenantKey, [Access.Public, Access.Tenant], []),
            ("the admin key", TokenGridServer.AdminKey, [Access.Public, Access.Admin, Access.Planner, Access.Auditor], []),
            ("the planner key", PlannerServerFixture.PlannerKey, [Access.Public, Access.Planner], []),
            ("the auditor key", PlannerServerFixture.AuditorKey, [Access.Public, Access.Auditor], [Access.Admin]),
        };

        var mapped = Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => (Methods: e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"], Pattern: e.RoutePattern.RawText!))
            .SelectMany(e => e.Methods.Select(method => (Method: method, e.Pattern)))
            .ToList();
        var unclassified = mapped.Where(e => ClassOf(e.Method, e.Pattern) is null).Select(e => $"{e.Method} {e.Pattern}").ToList();
        Assert.True(unclassified.Count == 0, "Classify these endpoints in AccessMatrixTests: " + string.Join(", ", unclassified));
        Assert.Contains(mapped, e => e.Pattern.StartsWith(OrleansDashboard, StringComparison.Ordinal));

        var failures = new List<string>();
        foreach (var (method, pattern) in mapped)
        {
            var access = ClassOf(method, pattern)!.Value;
            var path = Sample(pattern, tenantId);
            var statuses = new List<int>();
            foreach (var (name, key, opens, forbids) in credentials)
            {
                var status = await CallAsync(method == "*" ? "GET" : method, path, key);
                statuses.Add(status);
                var expected = opens.Contains(access) ? (int?)null : forbids.Contains(access) ? 403 : 401;
                if (status >= 500 || (access != Access.Public && (expected is { } refused ? status != refused : status == 401)))
                {
                    failures.Add($"{method} {path} ({access}) with {name}: {status}");
                }
            }

            // A public endpoint answers the same whatever the credential (the sign-in's 401 is about its form).
            if (access == Access.Public && statuses.Distinct().Count() > 1)
            {
                failures.Add($"{method} {path} (Public) answers differently by credential: {string.Join(", ", statuses)}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>
    /// Every endpoint of the API refuses a query parameter it does not take, naming it, as an unknown body field is
    /// refused: a filter TokenGrid does not have (<c>GET /v1/jobs?status=running</c>) must not quietly answer unfiltered.
    /// </summary>
    [Fact]
    public async Task Every_api_endpoint_refuses_a_query_parameter_it_does_not_take_naming_it()
    {
        var (tenantId, keys) = await KeysAsync();
        var failures = new List<string>();
        foreach (var (endpoint, access) in Endpoints.Where(e => e.Value != Access.Public))
        {
            var (method, pattern) = (endpoint[..endpoint.IndexOf(' ', StringComparison.Ordinal)], endpoint[(endpoint.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
            var (status, body) = await CallWithBodyAsync(method, Sample(pattern, tenantId) + "?zz_unknown=1", keys[access]);
            if (status != 400 || !body.Contains("\"code\":\"unrecognized_argument\"", StringComparison.Ordinal) || !body.Contains("\"param\":\"zz_unknown\"", StringComparison.Ordinal))
            {
                failures.Add($"{endpoint}: {status} {body}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>
    /// The OpenAPI document lists every status these probes meet on each operation of the API: with no key, with the
    /// auditor key where it does not open, with the right key and an unknown query parameter, and with the right key as
    /// the other tests call it. A client generated from the document must know each answer it can get.
    /// </summary>
    [Fact]
    public async Task The_openapi_document_lists_every_status_an_operation_answered()
    {
        var (tenantId, keys) = await KeysAsync();
        using var anonymous = Server.Client(null);
        var paths = System.Text.Json.Nodes.JsonNode.Parse(await anonymous.GetStringAsync("openapi/v1.json"))!["paths"]!.AsObject();
        var failures = new List<string>();
        foreach (var (endpoint, access) in Endpoints.Where(e => e.Value != Access.Public))
        {
            var (method, pattern) = (endpoint[..endpoint.IndexOf(' ', StringComparison.Ordinal)], endpoint[(endpoint.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
            var documented = pattern.Replace("{**", "{", StringComparison.Ordinal).TrimEnd('/');
            if (paths[documented]?[method.ToLowerInvariant()]?["responses"] is not System.Text.Json.Nodes.JsonObject responses)
            {
                failures.Add($"{endpoint}: not in the document as {method} {documented}");
                continue;
            }

            var path = Sample(pattern, tenantId);
            var answered = new List<(string Probe, int Status)>
            {
                ("no key", await CallAsync(method, path, null)),
                ("an unknown query parameter", (await CallWithBodyAsync(method, path + "?zz_unknown=1", keys[access])).Status),
                ("its key", await CallAsync(method, path, keys[access])),
            };
            if (access == Access.Admin)
            {
                answered.Add(("the auditor key", await CallAsync(method, path, PlannerServerFixture.AuditorKey)));
            }

            if (method is "POST" or "PUT" or "PATCH")
            {
                answered.Add(("a text/plain body", await CallAsync(method, path, keys[access], "text/plain")));
            }

            failures.AddRange(answered.Where(a => !responses.ContainsKey(a.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                .Select(a => $"{method} {documented}: {a.Status} with {a.Probe}, documented {string.Join(", ", responses.Select(r => r.Key))}"));
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public async Task An_Orleans_Dashboard_silo_view_answers_400_for_what_is_not_a_silo_address()
    {
        using var planner = Server.Client(PlannerServerFixture.PlannerKey);
        var silo = Server.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();
        foreach (var view in new[] { "SiloStats", "SiloCounters", "SiloProperties", "SiloMetadata", "HistoricalStats" })
        {
            foreach (var address in new[] { "not-a-silo", "@", ":", "1.2.3.4:99999@1", "1.2.3.4:1@x", "300.1.1.1:1@1", "1.2.3.4:1@99999999999999999999" })
            {
                var bad = await planner.GetAsync($"dashboard/orleans/{view}/{address}");
                var problem = await bad.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
                Assert.Contains(address, problem["detail"]!.GetValue<string>());
            }

            var good = await planner.GetAsync($"dashboard/orleans/{view}/{silo}");
            Assert.True(good.StatusCode == HttpStatusCode.OK, $"{view}/{silo}: {(int)good.StatusCode} {await good.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>A new tenant, and the key of each class that opens its endpoints.</summary>
    private async Task<(string TenantId, Dictionary<Access, string> Keys)> KeysAsync()
    {
        var (tenantId, tenantKey) = await Server.CreateTenantAsync();
        return (tenantId, new Dictionary<Access, string>
        {
            [Access.Tenant] = tenantKey,
            [Access.Admin] = TokenGridServer.AdminKey,
            [Access.Auditor] = PlannerServerFixture.AuditorKey,
            [Access.Planner] = PlannerServerFixture.PlannerKey,
        });
    }

    private static Access? ClassOf(string method, string pattern) =>
        Endpoints.TryGetValue($"{method} {pattern}", out var access) ? access
        : pattern.StartsWith(OrleansDashboard, StringComparison.Ordinal) ? Access.Planner
        : null;

    /// <summary>The route with its parameters filled in: a real tenant, resources that do not exist elsewhere.</summary>
    private static string Sample(string pattern, string tenantId) => pattern
        .Replace("{documentName}", "v1", StringComparison.Ordinal)
        .Replace("{file}", "dashboard.js", StringComparison.Ordinal)
        .Replace("/admin/tenants/{id}", $"/admin/tenants/{tenantId}", StringComparison.Ordinal)
        .Replace("{id}", "job_doesnotexist", StringComparison.Ordinal)
        .Replace("{**id}", "demo", StringComparison.Ordinal)
        .Replace("{keyId}", "key_unknown", StringComparison.Ordinal)
        .Replace("{period}", "2000-01", StringComparison.Ordinal)
        .Replace("{silo}", "nosilo", StringComparison.Ordinal)
        .Replace("{device}", "nodevice", StringComparison.Ordinal)
        .Replace("{page:int}", "1", StringComparison.Ordinal)
        .Replace("{*grainName}", "x", StringComparison.Ordinal)
        .Replace("{*path}", "x", StringComparison.Ordinal)
        .Replace("{*address}", "x", StringComparison.Ordinal)
        .Replace("{**path}", "x", StringComparison.Ordinal);

    /// <summary>One call (a body of <c>{}</c> where the method takes one); returns its status and body.</summary>
    private async Task<(int Status, string Body)> CallWithBodyAsync(string method, string path, string key)
    {
        using var client = Server.Client(key);
        using var request = new HttpRequestMessage(new HttpMethod(method), path.TrimStart('/'));
        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        }

        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>One call (a body of <c>{}</c> where the method takes one); returns its status without reading a stream.</summary>
    private async Task<int> CallAsync(string method, string path, string? key, string mediaType = "application/json")
    {
        using var client = Server.Client(key);
        using var request = new HttpRequestMessage(new HttpMethod(method), path.TrimStart('/'));
        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, new MediaTypeHeaderValue(mediaType));
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return (int)response.StatusCode;
    }
}
