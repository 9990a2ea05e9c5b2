using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// Prints where the API listens, the demo and admin keys, and copy-paste examples once the server is up. The keys are
/// written to the console, never to a logger, and only under the local profile: another profile's stdout ends up in log
/// files and collectors, so there a key is described, not shown.
/// </summary>
internal sealed class StartupBanner(
    IServer server,
    StartupState state,
    AdminKey adminKey,
    ModelCatalog catalog,
    IOptions<DemoOptions> demo,
    IHostApplicationLifetime lifetime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => Console.WriteLine(Render()));
        return Task.CompletedTask;
    }

    private const string NotShown = "not shown outside the local profile";

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The banner text.</summary>
    internal string Render()
    {
        var url = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:8080";
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
