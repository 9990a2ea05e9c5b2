using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// Prints where the API listens, the demo and admin keys, and copy-paste examples once the server is up. The keys are
/// written to the console, never to a logger, and only under the local profile: another profile's stdout ends up in log
/// files and collectors, so there a key is described, not shown. Where the console writes JSON logs (the kubernetes
/// profile: one object a line, for a log collector), the banner is one log record instead of twenty lines of text.
/// </summary>
internal sealed partial class StartupBanner(
    IServer server,
    StartupState state,
    AdminKey adminKey,
    ModelCatalog catalog,
    IOptions<DemoOptions> demo,
    IOptionsMonitor<ConsoleLoggerOptions> console,
    ILogger<StartupBanner> logger,
    IHostApplicationLifetime lifetime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            if (string.Equals(console.CurrentValue.FormatterName, ConsoleFormatterNames.Json, StringComparison.OrdinalIgnoreCase))
            {
                LogUp(logger, Url, state.Profile, string.Join(", ", catalog.Models.Select(m => m.Name)),
                    demo.Value.Enabled ? demo.Value.TenantId : "disabled", adminKey.IsGenerated ? "random, not shown" : "configured");
            }
            else
            {
                Console.WriteLine(Render());
            }
        });
        return Task.CompletedTask;
    }

    private string Url => server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:8080";

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
        Message = "TokenGrid is up on {Url} (profile {Profile}, models: {Models}; demo tenant: {DemoTenant}; admin key: {AdminKey})")]
    private static partial void LogUp(ILogger logger, string url, string profile, string models, string demoTenant, string adminKey);

    private const string NotShown = "not shown outside the local profile";

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The banner text.</summary>
    internal string Render()
    {
        var url = Url;
        var model = catalog.Models.FirstOrDefault()?.Name ?? "demo";
        var showKeys = state.Profile == ConfigurationProfiles.Default;
        var demoKey = showKeys ? state.DemoApiKey ?? (state.DemoKeyConfigured ? demo.Value.ApiKey : null) : null;
        var demoSource = state.DemoKeyConfigured ? "configured" : "random; fix it with TokenGrid__Demo__ApiKey";
        var adminSource = adminKey.IsGenerated ? "random; fix it with TokenGrid__Admin__ApiKey" : "configured";
        var key = demoKey ?? "YOUR_KEY";
        var demoLine = demo.Value.Enabled
            ? $"  Demo tenant '{demo.Value.TenantId}' API key: {demoKey ?? NotShown}   ({demoSource})"
            : "  Demo tenant disabled.";
        var adminLine = $"  Admin API key: {(showKeys ? adminKey.Secret : NotShown)}   ({adminSource})";
        return $$"""

            TokenGrid is up on {{url}} (profile '{{state.Profile}}', models: {{string.Join(", ", catalog.Models.Select(m => m.Name))}})
            {{demoLine}}
            {{adminLine}}

              curl {{url}}/v1/chat/completions \
                -H "Authorization: Bearer {{key}}" -H "Content-Type: application/json" \
                -d '{"model": "{{model}}", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 32}'

              // OpenAI .NET SDK
              var client = new OpenAIClient(new ApiKeyCredential("{{key}}"),
                  new OpenAIClientOptions { Endpoint = new Uri("{{url}}/v1") });
              ChatCompletion reply = await client.GetChatClient("{{model}}").CompleteChatAsync("Hello!");
              Console.WriteLine(reply.Content[0].Text);

              Capacity dashboard: {{url}}/dashboard (sign in with the admin key, or a planner key set with
              TokenGrid__Planner__ApiKey)   Capacity API: {{url}}/v1/capacity
              Health: {{url}}/health/ready   Metrics: {{url}}/metrics   OpenAPI: {{url}}/openapi/v1.json

            """;
    }
}
