using System.Net;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Tests.Capacity;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Dashboard;

/// <summary>
/// Guessing keys at the dashboard's sign-in form: after <c>FailedSignInsPerMinute</c> wrong keys from one address, every
/// sign-in from it is 429 with <c>Retry-After</c> and the form again, the right key's included, and no session is made.
/// </summary>
public sealed class SignInLimitTests
{
    [Fact]
    public async Task Wrong_keys_beyond_the_limit_lock_the_address_out_even_with_the_right_key()
    {
        await using var server = await TokenGridServer.StartAsync(new Dictionary<string, string>
        {
            ["TokenGrid:Planner:ApiKey"] = PlannerServerFixture.PlannerKey,
            ["TokenGrid:Planner:FailedSignInsPerMinute"] = "2",
        });
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
        Task<HttpResponseMessage> SignInAsync(string key) => browser.PostAsync("dashboard/login", new FormUrlEncodedContent([new("key", key)]));

        // An empty form is not a guess.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync("")).StatusCode);
        }

        for (var i = 0; i < 2; i++)
        {
            using var wrong = await SignInAsync($"tg-guess-{i}-0123456789abcdef");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        foreach (var key in new[] { "tg-guess-2-0123456789abcdef", PlannerServerFixture.PlannerKey, TokenGridServer.AdminKey })
        {
            using var refused = await SignInAsync(key);
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("text/html", refused.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromMinutes(1), refused.Headers.RetryAfter?.Delta);
            Assert.False(refused.Headers.Contains("Set-Cookie"));
            Assert.Contains("Too many wrong keys from this address: try again in a minute.", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The bearer key still works for scripts; only the form is locked.
        using var planner = server.Client(PlannerServerFixture.PlannerKey);
        Assert.Equal(HttpStatusCode.OK, (await planner.GetAsync("v1/capacity")).StatusCode);
    }

    [Fact]
    public void The_limit_is_a_positive_count()
    {
        Assert.NotNull(new PlannerAuthOptions { FailedSignInsPerMinute = 0 }.Validate());
        Assert.Null(new PlannerAuthOptions { FailedSignInsPerMinute = 1 }.Validate());
    }
}
