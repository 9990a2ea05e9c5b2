using System.Net;
using System.Net.Http.Headers;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// The dashboard's session cookie on the postgres profile: its Data Protection key ring lives in the database, so a
/// session made by one silo still opens the capacity view after that silo restarts, and on another silo of the cluster;
/// a silo whose admin key has changed refuses it.
/// </summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class PostgresDashboardSessionTests
{
    [Fact]
    public async Task A_dashboard_session_survives_a_restart_and_opens_another_silo_sharing_the_database()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var clusterId = $"pg-session-{Guid.NewGuid():N}";
        string session;
        await using (var first = await TokenGridServer.StartAsync(PostgresSilo.Settings(database.ConnectionString, clusterId)))
        {
            session = await SignInAsync(first);
            Assert.Equal(HttpStatusCode.OK, await CapacityWithAsync(first, session));
        }

        Assert.True(await database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_data_protection_keys") >= 1);

        // A restart: a new process state, with nothing but the database in common with the first.
        await using var restarted = await TokenGridServer.StartAsync(PostgresSilo.Settings(database.ConnectionString, clusterId));
        Assert.Equal(HttpStatusCode.OK, await CapacityWithAsync(restarted, session));

        // A second silo of the same cluster, and a cookie it issues, accepted by the first.
        await using var second = await TokenGridServer.StartAsync(PostgresSilo.Settings(database.ConnectionString, clusterId));
        Assert.Equal(HttpStatusCode.OK, await CapacityWithAsync(second, session));
        Assert.Equal(HttpStatusCode.OK, await CapacityWithAsync(restarted, await SignInAsync(second)));

        // A silo whose admin key has changed refuses a session the old key signed in, though it can read the cookie.
        var rekeyed = PostgresSilo.Settings(database.ConnectionString, clusterId);
        rekeyed["TokenGrid:Admin:ApiKey"] = "tg-admin-rekeyed-0123456789abcdef";
        await using (var changed = await TokenGridServer.StartAsync(rekeyed))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await CapacityWithAsync(changed, session));
        }

        // The ring is what makes it work: a silo on a database of its own refuses the session.
        await using var elsewhere = await PostgresTestDatabase.CreateAsync(migrate: false);
        await using var stranger = await TokenGridServer.StartAsync(PostgresSilo.Settings(elsewhere.ConnectionString));
        Assert.Equal(HttpStatusCode.Unauthorized, await CapacityWithAsync(stranger, session));
    }

    /// <summary>Signs in at the dashboard with the admin key; the session cookie as a <c>Cookie</c> header value.</summary>
    private static async Task<string> SignInAsync(TokenGridServer server)
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
        using var signIn = await client.PostAsync("dashboard/login", new FormUrlEncodedContent([new("key", TokenGridServer.AdminKey)]));
        Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single();
        Assert.StartsWith(PlannerAuth.CookieName + "=", cookie, StringComparison.Ordinal);
        return cookie[..cookie.IndexOf(';', StringComparison.Ordinal)];
    }

    private static async Task<HttpStatusCode> CapacityWithAsync(TokenGridServer server, string cookie)
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/capacity");
        request.Headers.Add("Cookie", cookie);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
