using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace TokenGrid.Silo.Tests.Dashboard;

/// <summary>
/// A site of another origin for the browser tests: a Kestrel server on a free port of 127.0.0.1 answering every request
/// with one HTML page. On 127.0.0.1 it is the same site as the silo under test but another origin, so the browser sends
/// the silo's <c>SameSite=Strict</c> cookie to the frames it loads from there. (A page Playwright serves by routing does
/// not load frames from the silo at all, so it cannot show what a real page could.)
/// </summary>
internal sealed class OtherOrigin : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtherOrigin(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Where the page is, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Address { get; }

    public static async Task<OtherOrigin> StartAsync(string html)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(http =>
        {
            http.Response.ContentType = "text/html; charset=utf-8";
            return http.Response.WriteAsync(html);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new OtherOrigin(app, new Uri(address + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
