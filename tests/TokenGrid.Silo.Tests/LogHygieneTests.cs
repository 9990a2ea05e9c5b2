using System.Net;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Hosting;
using TokenGrid.Silo.Options;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// No log line at Information or above, from TokenGrid or the libraries it hosts (Orleans, ASP.NET Core), carries prompt
/// or output text or an API key: requests of every kind carry a marker where content goes, and the whole log of a
/// server, from start to stop, is searched for it and for every key the server knows.
/// </summary>
public sealed class LogHygieneTests
{
    private const string Marker = "Zq7LogMarkerXk";

    [Fact]
    public async Task No_content_and_no_key_reaches_a_log_line_at_information_or_above()
    {
        var log = new ErrorLogCapture(LogLevel.Information);
        var server = await TokenGridServer.StartAsync(
            new Dictionary<string, string>
            {
                ["TokenGrid:Models:DemoSpec:Layers"] = "2",
                ["TokenGrid:Models:DemoSpec:HiddenSize"] = "64",
                // Every category at Information, the libraries' too (the local profile quiets Orleans and Polly).
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Information",
                ["Logging:LogLevel:Orleans"] = "Information",
                ["Logging:LogLevel:Polly"] = "Information",
            },
            services: services => services.AddSingleton<ILoggerProvider>(log));
        string key;
        await using (server)
        {
            (var tenant, key) = await server.CreateTenantAsync();
            using var client = server.Client(key);
            await SendContentAsync(client);
            await SendRefusedAsync(client, server);
            await RunJobAsync(client);

            // The capture sees Information lines, so a clean log means nothing leaked, not that nothing was logged.
            Assert.Contains(log.Errors, e => e.Contains($"Tenant {tenant} created", StringComparison.Ordinal));
        }

        var forbidden = new[] { Marker, key, TokenGridServer.AdminKey, TokenGridServer.DemoKey };
        var leaks = log.Errors.Where(e => forbidden.Any(f => e.Contains(f, StringComparison.Ordinal))).ToList();
        Assert.True(leaks.Count == 0, string.Join(Environment.NewLine, leaks.Take(20)));
    }

    [Fact]
    public async Task The_banner_shows_keys_on_the_console_under_the_local_profile_only()
    {
        await using var server = await TokenGridServer.StartAsync(new Dictionary<string, string>
        {
            ["TokenGrid:Models:DemoSpec:Layers"] = "2",
            ["TokenGrid:Models:DemoSpec:HiddenSize"] = "64",
        });
        var services = server.Services;
        string Render(string profile)
        {
            var state = new StartupState { Profile = profile };
            state.MarkStarted(null, demoKeyConfigured: true);
            return new StartupBanner(
                services.GetRequiredService<IServer>(), state, services.GetRequiredService<AdminKey>(), services.GetRequiredService<ModelCatalog>(),
                services.GetRequiredService<IOptions<DemoOptions>>(), services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>(),
                services.GetRequiredService<ILogger<StartupBanner>>(), services.GetRequiredService<IHostApplicationLifetime>()).Render();
        }

        // The local demo prints its keys on purpose, so the copy-paste examples work as printed.
        var local = Render(ConfigurationProfiles.Default);
        Assert.Contains(TokenGridServer.AdminKey, local, StringComparison.Ordinal);
        Assert.Contains(TokenGridServer.DemoKey, local, StringComparison.Ordinal);

        // Elsewhere stdout is collected as logs: the keys are described, not shown.
        foreach (var profile in new[] { "postgres", "kubernetes" })
        {
            var banner = Render(profile);
            Assert.DoesNotContain(TokenGridServer.AdminKey, banner, StringComparison.Ordinal);
            Assert.DoesNotContain(TokenGridServer.DemoKey, banner, StringComparison.Ordinal);
            Assert.Contains("Admin API key: not shown outside the local profile", banner, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_unexpected_error_is_logged_at_error_without_its_message_and_in_full_at_debug()
    {
        var log = new ErrorLogCapture(LogLevel.Debug);
        using var factory = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(log));
        var handler = new ApiExceptionHandler(new NoProblems(), factory.CreateLogger<ApiExceptionHandler>());
        Exception thrown;
        try
        {
            throw new InvalidOperationException($"Cannot render '{Marker}'", new FormatException(Marker));
        }
        catch (InvalidOperationException e)
        {
            thrown = e;
        }

        var http = new DefaultHttpContext();
        http.Request.Method = "POST";
        http.Request.Path = "/v1/chat/completions";
        Assert.True(await handler.TryHandleAsync(http, thrown, CancellationToken.None));

        Assert.Equal(StatusCodes.Status500InternalServerError, http.Response.StatusCode);
        var error = Assert.Single(log.Errors, e => e.StartsWith("Error ", StringComparison.Ordinal));
        Assert.DoesNotContain(Marker, error, StringComparison.Ordinal);
        Assert.Contains(typeof(InvalidOperationException).FullName!, error, StringComparison.Ordinal);
        Assert.Contains(nameof(An_unexpected_error_is_logged_at_error_without_its_message_and_in_full_at_debug), error, StringComparison.Ordinal);
        Assert.Contains(log.Errors, e => e.StartsWith("Debug ", StringComparison.Ordinal) && e.Contains(Marker, StringComparison.Ordinal));
    }

    /// <summary>Requests that succeed, each with the marker in its prompt, messages, stop sequences and user.</summary>
    private static async Task SendContentAsync(HttpClient client)
    {
        await (await client.PostJsonAsync("v1/completions", new
        {
            model = "demo", prompt = $"Say {Marker} again", max_tokens = 2, echo = true, stop = new[] { Marker }, user = Marker,
        })).ReadJsonAsync();
        await (await client.PostJsonAsync("v1/chat/completions", new
        {
            model = "demo",
            messages = new object[]
            {
                new { role = "system", content = $"You are {Marker}." },
                new { role = "user", content = new[] { new { type = "text", text = $"Hello {Marker}" } } },
            },
            max_tokens = 2, stop = Marker, user = Marker,
        })).ReadJsonAsync();

        foreach (var (path, body) in new (string, object)[]
        {
            ("v1/completions", new { model = "demo", prompt = Marker, max_tokens = 2, echo = true, stream = true }),
            ("v1/chat/completions", new { model = "demo", messages = new[] { new { role = "user", content = Marker } }, max_tokens = 2, stream = true }),
        })
        {
            using var response = await client.PostJsonAsync(path, body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            Assert.Contains("[DONE]", text, StringComparison.Ordinal);
        }
    }

    /// <summary>Requests refused with the marker in the refused value, and keys refused with the marker in them.</summary>
    private static async Task SendRefusedAsync(HttpClient client, TokenGridServer server)
    {
        var refused = new (string Path, string Body)[]
        {
            ("v1/chat/completions", $$$"""{"model":"demo","messages":[{"role":"{{{Marker}}}","content":"{{{Marker}}}"}],"max_tokens":1}"""),
            ("v1/chat/completions", $$$"""{"model":"demo","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://{{{Marker}}}.test/a.png"}}]}]}"""),
            ("v1/chat/completions", $$$"""{"model":"demo","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"{{{Marker}}}"}}]}"""),
            ("v1/completions", $$$"""{"model":"demo","prompt":"{{{Marker}}}","max_tokens":"{{{Marker}}}"}"""),
            ("v1/completions", $$$"""{"model":"demo","prompt":"{{{Marker}}}","stop":[1,"{{{Marker}}}"]}"""),
            ("v1/completions", $$$"""{"model":"demo","prompt":"{{{Marker}}}","{{{Marker}}}":1}"""),
            ("v1/completions", $$$"""{"model":"{{{Marker}}}","prompt":"{{{Marker}}}"}"""),
            ("v1/completions", $$$"""{"model":"demo","prompt":"{{{Marker}}}","max_tokens":100000}"""),
            ("v1/completions", $$$"""{"model":"demo","prompt":"{{{Marker}}}","logit_bias":{"{{{Marker}}}":1}}"""),
            ("v1/jobs", $$$"""{"model":"demo","prompt":"{{{Marker}}}","max_tokens":1,"priority":"{{{Marker}}}"}"""),
            ("v1/completions", $$$"""{"model":"demo","prompt":"{{{Marker}}}" """),
        };
        foreach (var (path, body) in refused)
        {
            using var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"{path} {body}: {(int)response.StatusCode}");
        }

        foreach (var bogus in new[] { $"sk-{Marker}", TokenGridServer.AdminKey + Marker })
        {
            using var stranger = server.Client(bogus);
            using var response = await stranger.PostJsonAsync("v1/completions", new { model = "demo", prompt = Marker, max_tokens = 1 });
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            using var admin = await stranger.GetAsync("admin/tenants");
            Assert.Equal(HttpStatusCode.Unauthorized, admin.StatusCode);
        }

        using var browser = server.Client(null);
        using var wrongSignIn = await browser.PostAsync("dashboard/login", new FormUrlEncodedContent([new("key", $"tg-admin-{Marker}")]));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongSignIn.StatusCode);
        using var signIn = await browser.PostAsync("dashboard/login", new FormUrlEncodedContent([new("key", TokenGridServer.AdminKey)]));
        Assert.True(signIn.IsSuccessStatusCode, $"{(int)signIn.StatusCode}");

        using var raw = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        raw.Headers.TryAddWithoutValidation("Authorization", $"Basic {Marker}");
        using var basic = await server.Client(null).SendAsync(raw);
        Assert.Equal(HttpStatusCode.Unauthorized, basic.StatusCode);
    }

    /// <summary>An async job read to its end through its event stream.</summary>
    private static async Task RunJobAsync(HttpClient client)
    {
        var job = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = $"Tell {Marker}", max_tokens = 2, user = Marker }))
            .ReadJsonAsync(HttpStatusCode.Accepted);
        var id = job["id"]!.GetValue<string>();
        using var response = await client.GetAsync($"v1/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        var saw = new List<string?>();
        while (await events.ReadAsync() is { } e)
        {
            saw.Add(e.Event);
        }

        Assert.Contains("status", saw);
        var ended = await (await client.GetAsync($"v1/jobs/{id}")).ReadJsonAsync();
        Assert.Equal("succeeded", ended["status"]!.GetValue<string>());
    }

    private sealed class NoProblems : IProblemDetailsService
    {
        public ValueTask WriteAsync(ProblemDetailsContext context) => ValueTask.CompletedTask;

        public ValueTask<bool> TryWriteAsync(ProblemDetailsContext context) => ValueTask.FromResult(true);
    }
}
