using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Models;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// Runs once the silo has started (it is registered after Orleans, and before the web server starts listening): loads
/// the model catalog, says where state is kept, and creates the demo tenant with its key.
/// </summary>
internal sealed partial class StartupProvisioner(
    IServiceProvider services,
    IGrainFactory grains,
    StartupState state,
    IOptions<ClusterHostingOptions> cluster,
    IOptions<DemoOptions> demo,
    TimeProvider time,
    ILogger<StartupProvisioner> logger) : IHostedService
{
    /// <summary>The key id of a configured demo key (binding the same key again is then a no-op).</summary>
    internal const string ConfiguredDemoKeyId = "key_demo";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var catalog = services.GetRequiredService<ModelCatalog>();
        services.GetRequiredService<ServerClock>();
        LogModels(logger, string.Join(", ", catalog.Models.Select(m => m.Name)));
        if (cluster.Value.Storage == StorageKind.Memory)
        {
            LogInMemory(logger, state.Profile);
        }

        string? issued = null;
        var options = demo.Value;
        if (options.Enabled)
        {
            issued = await ProvisionDemoAsync(options);
        }

        state.MarkStarted(issued, options.Enabled && options.ApiKey is not null);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Creates the demo tenant when missing and binds the configured key (by hash only) or issues a new one.</summary>
    private async Task<string?> ProvisionDemoAsync(DemoOptions options)
    {
        var tenant = grains.GetGrain<ITenantGrain>(options.TenantId);
        if (await tenant.GetAsync() is null)
        {
            try
            {
                await tenant.CreateAsync(new TenantSpec("Demo tenant", options.Budget));
                LogDemoCreated(logger, options.TenantId);
            }
            catch (TenantExistsException)
            {
                // Another silo of the cluster, starting at the same time, created it first.
            }
        }

        if (options.ApiKey is { } secret)
        {
            var key = new ApiKeyInfo(ConfiguredDemoKeyId, options.TenantId, "demo (configured)", secret[..Math.Min(7, secret.Length)] + "…", time.GetUtcNow(), null);
            await grains.GetGrain<IApiKeyGrain>(ApiKeyHash.Hash(secret)).BindAsync(key);
            return null;
        }

        return (await tenant.IssueKeyAsync("demo")).Secret;
    }
}
