using System.Net;
using System.Net.Http.Headers;
using Microsoft.Playwright;
using TokenGrid.Silo.Tests.Capacity;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Dashboard;

/// <summary>
/// The dashboard's forms as a page of another origin uses them: a sign-in or sign-out it posts is refused (403
/// <c>cross_origin_request</c>), over HTTP with the headers a browser sends, and in headless Chromium with the attacker's
/// page at another origin; the dashboard's own pages and scripts without a browser's headers go on as before.
/// </summary>
public sealed class DashboardCrossOriginTests(PlannerServerFixture fixture) : IClassFixture<PlannerServerFixture>
{
    private TokenGridServer Server => fixture.Server;

    private string OwnOrigin => Server.BaseAddress.GetLeftPart(UriPartial.Authority);

    [Theory]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    [InlineData("Origin", "http://attacker.example")]
    [InlineData("Origin", "null")]
    public async Task A_sign_in_posted_from_another_origin_is_refused_and_sets_no_cookie(string header, string value)
    {
        using var signIn = await PostAsync("dashboard/login", PlannerServerFixture.PlannerKey, null, (header, value));
        await signIn.AssertProblemAsync(HttpStatusCode.Forbidden, "cross_origin_request");
        Assert.False(signIn.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task A_sign_in_from_the_dashboards_own_page_or_from_a_script_goes_through()
    {
        (string, string)[][] cases = [[("Sec-Fetch-Site", "same-origin"), ("Origin", OwnOrigin)], [("Origin", OwnOrigin)], []];
        foreach (var headers in cases)
        {
            using var signIn = await PostAsync("dashboard/login", PlannerServerFixture.PlannerKey, null, headers);
            Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
            Assert.True(signIn.Headers.Contains("Set-Cookie"), string.Join(", ", headers));
        }
    }

    [Fact]
    public async Task A_sign_out_posted_from_another_origin_is_refused_and_the_session_goes_on()
    {
        using var signIn = await PostAsync("dashboard/login", PlannerServerFixture.PlannerKey, null);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single();
        var session = cookie[..cookie.IndexOf(';', StringComparison.Ordinal)];

        using var logout = await PostAsync("dashboard/logout", null, session, ("Sec-Fetch-Site", "cross-site"), ("Origin", "http://attacker.example"));
        await logout.AssertProblemAsync(HttpStatusCode.Forbidden, "cross_origin_request");
        Assert.False(logout.Headers.Contains("Set-Cookie"));

        using var client = NewClient();
        using var capacity = new HttpRequestMessage(HttpMethod.Get, "v1/capacity");
        capacity.Headers.Add("Cookie", session);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(capacity)).StatusCode);
    }

    [Fact]
    public async Task A_page_of_another_site_can_neither_sign_the_browser_in_nor_sign_it_out()
    {
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        await using var context = await browser.NewContextAsync();

        // The attacker's site: "localhost" is another site than the silo's 127.0.0.1, served by the browser's router.
        var attacker = $"http://localhost:{Server.BaseAddress.Port}/attacker/";
        await context.RouteAsync(attacker + "**", route => route.FulfillAsync(new RouteFulfillOptions
        {
            ContentType = "text/html",
            Body = AutoPost(route.Request.Url.EndsWith("/login", StringComparison.Ordinal) ? "dashboard/login" : "dashboard/logout"),
        }));
        var page = await context.NewPageAsync();

        // A form on the attacker's page, submitted by its script, posts the planner key: no session is made.
        var signIn = await page.RunAndWaitForResponseAsync(() => page.GotoAsync(attacker + "login"), r => r.Url.EndsWith("/dashboard/login", StringComparison.Ordinal));
        Assert.Equal(403, signIn.Status);
        Assert.Empty(await context.CookiesAsync());

        // Signed in on the dashboard's own page, the browser stays signed in after the attacker's page posts the sign-out.
        await page.GotoAsync(Server.BaseAddress + "dashboard");
        await page.FillAsync("#key", PlannerServerFixture.PlannerKey);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("#chart-node-throughput");
        Assert.Single(await context.CookiesAsync());

        var signOut = await page.RunAndWaitForResponseAsync(() => page.GotoAsync(attacker + "logout"), r => r.Url.EndsWith("/dashboard/logout", StringComparison.Ordinal));
        Assert.Equal(403, signOut.Status);
        Assert.Single(await context.CookiesAsync());
        await page.GotoAsync(Server.BaseAddress + "dashboard");
        await page.WaitForSelectorAsync("#chart-node-throughput");
    }

    /// <summary>A page whose script submits a form to the silo at once, with the planner key as the sign-in's field.</summary>
    private string AutoPost(string path) => $"""
        <!doctype html><html><body>
        <form method="post" action="{Server.BaseAddress}{path}"><input type="hidden" name="key" value="{PlannerServerFixture.PlannerKey}"></form>
        <script>document.forms[0].submit();</script>
        </body></html>
        """;

    private async Task<HttpResponseMessage> PostAsync(string path, string? key, string? cookie, params (string Name, string Value)[] headers)
    {
        using var client = NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(key is null ? [] : [new("key", key)]),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await client.SendAsync(request);
    }

    private HttpClient NewClient() =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Server.BaseAddress };
}
