using System.Net;
using System.Net.Http.Headers;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Capacity;

/// <summary>
/// Who may read the capacity view: the planner key only there (capacity API, dashboard, Orleans Dashboard), the admin
/// key there and everywhere, tenant keys nowhere; the dashboard's sign-in and its session cookie.
/// </summary>
public sealed class PlannerAuthTests(PlannerServerFixture fixture) : IClassFixture<PlannerServerFixture>
{
    private const string OrleansCounters = "dashboard/orleans/DashboardCounters";

    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task TenantKeysAndNoKeyAreRefused()
    {
        var (_, tenantKey) = await Server.CreateTenantAsync();
        using var tenant = Server.Client(tenantKey);
        using var anonymous = Server.Client(null);

        await (await tenant.GetAsync("v1/capacity")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        await (await anonymous.GetAsync("v1/capacity")).AssertProblemAsync(HttpStatusCode.Unauthorized, "missing_api_key");
        await (await tenant.GetAsync(OrleansCounters)).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        await (await anonymous.GetAsync(OrleansCounters)).AssertProblemAsync(HttpStatusCode.Unauthorized, "missing_api_key");
        Assert.Equal("Bearer", (await tenant.GetAsync("v1/capacity")).Headers.WwwAuthenticate.Single().Scheme);

        // Without a session the dashboard is its sign-in form, and a tenant key does not sign in.
        var form = await anonymous.GetStringAsync("dashboard");
        Assert.Contains("action=\"/dashboard/login\"", form, StringComparison.Ordinal);
        using var signIn = await SignInAsync(tenantKey);
        Assert.Equal(HttpStatusCode.Unauthorized, signIn.StatusCode);
        Assert.False(signIn.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task ThePlannerKeyOpensOnlyTheCapacityView()
    {
        using var planner = Server.Client(PlannerServerFixture.PlannerKey);
        Assert.Equal(HttpStatusCode.OK, (await planner.GetAsync("v1/capacity")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await planner.GetAsync(OrleansCounters)).StatusCode);
        Assert.Contains("dashboard.js", await planner.GetStringAsync("dashboard"), StringComparison.Ordinal);

        // Nothing else: not the admin API, not the tenant API.
        await (await planner.GetAsync("admin/nodes")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await planner.GetAsync("admin/tenants")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await planner.GetAsync("v1/models")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await planner.GetAsync("v1/usage")).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task TheAdminKeyOpensTheCapacityViewToo()
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("v1/capacity")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(OrleansCounters)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("admin/nodes")).StatusCode);
    }

    [Theory]
    [InlineData(PlannerServerFixture.PlannerKey)]
    [InlineData(TokenGridServer.AdminKey)]
    public async Task SigningInGivesASessionCookieThatOpensTheView(string key)
    {
        using var signIn = await SignInAsync(key);
        Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
        Assert.Equal("/dashboard", signIn.Headers.Location?.OriginalString);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single();
        Assert.StartsWith(PlannerAuth.CookieName + "=", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(key, cookie, StringComparison.Ordinal);

        var session = cookie[..cookie.IndexOf(';', StringComparison.Ordinal)];
        Assert.Equal(HttpStatusCode.OK, (await WithCookieAsync("v1/capacity", session)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await WithCookieAsync(OrleansCounters, session)).StatusCode);

        // A session opens the capacity view only, and a forged one opens nothing.
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookieAsync("admin/nodes", session)).StatusCode);
        var forged = session[..^4] + (session.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookieAsync("v1/capacity", forged)).StatusCode);
        var promoted = session.Replace("=planner.", "=admin.", StringComparison.Ordinal);
        if (promoted != session)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookieAsync("v1/capacity", promoted)).StatusCode);
        }
    }

    [Fact]
    public async Task SigningOutEndsTheSessionSoACopyOfItsCookieOpensNothing()
    {
        var copy = SessionOf(await SignInAsync(PlannerServerFixture.PlannerKey));
        var other = SessionOf(await SignInAsync(PlannerServerFixture.PlannerKey));
        Assert.Equal(HttpStatusCode.OK, (await WithCookieAsync("v1/capacity", copy)).StatusCode);

        using (var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Server.BaseAddress })
        using (var logout = new HttpRequestMessage(HttpMethod.Post, "dashboard/logout"))
        {
            logout.Headers.Add("Cookie", copy);
            Assert.Equal(HttpStatusCode.SeeOther, (await client.SendAsync(logout)).StatusCode);
        }

        // The browser's cookie is gone; a copy of it (another machine, a log) is refused on the server too.
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookieAsync("v1/capacity", copy)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookieAsync(OrleansCounters, copy)).StatusCode);

        // Only that session ends: another sign-in with the same key goes on.
        Assert.Equal(HttpStatusCode.OK, (await WithCookieAsync("v1/capacity", other)).StatusCode);
    }

    [Fact]
    public async Task SigningInAgainEndsTheSessionTheBrowserHad()
    {
        var first = SessionOf(await SignInAsync(PlannerServerFixture.PlannerKey));
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Server.BaseAddress };
        using var again = new HttpRequestMessage(HttpMethod.Post, "dashboard/login")
        {
            Content = new FormUrlEncodedContent([new("key", TokenGridServer.AdminKey)]),
        };
        again.Headers.Add("Cookie", first);
        var second = SessionOf(await client.SendAsync(again));

        Assert.NotEqual(first, second);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookieAsync("v1/capacity", first)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await WithCookieAsync("v1/capacity", second)).StatusCode);
    }

    [Fact]
    public async Task TheSessionCookieIsSecureOverPlainHttpWhenConfiguredForATlsProxy()
    {
        Assert.DoesNotContain("secure", CookieOf(await SignInAsync(PlannerServerFixture.PlannerKey)), StringComparison.OrdinalIgnoreCase);

        await using var behindProxy = await TokenGridServer.StartAsync(new Dictionary<string, string>
        {
            ["TokenGrid:Planner:ApiKey"] = PlannerServerFixture.PlannerKey,
            ["TokenGrid:Planner:SecureCookie"] = "true",
        });
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = behindProxy.BaseAddress };
        using var signIn = await client.PostAsync("dashboard/login", new FormUrlEncodedContent([new("key", PlannerServerFixture.PlannerKey)]));
        Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
        Assert.Contains("; secure", CookieOf(signIn), StringComparison.OrdinalIgnoreCase);
    }

    private static string CookieOf(HttpResponseMessage signIn) => signIn.Headers.GetValues("Set-Cookie").Single();

    private static string SessionOf(HttpResponseMessage signIn)
    {
        var cookie = CookieOf(signIn);
        return cookie[..cookie.IndexOf(';', StringComparison.Ordinal)];
    }

    private async Task<HttpResponseMessage> SignInAsync(string key)
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Server.BaseAddress };
        return await client.PostAsync("dashboard/login", new FormUrlEncodedContent([new("key", key)]));
    }

    private async Task<HttpResponseMessage> WithCookieAsync(string path, string cookie)
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", cookie);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return await client.SendAsync(request);
    }
}
