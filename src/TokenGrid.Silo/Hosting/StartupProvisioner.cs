using Microsoft.Extensions.Options;
using Polly;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.ApiKeys;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Database;
using TokenGrid.Silo.Options;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// Runs once the silo has started (it is registered after Orleans, and before the web server starts listening): loads
/// the model catalog, says where state is kept, and creates the demo tenant with its key.
/// </summary>
/// <remarks>
/// The demo tenant's grain may live on any silo and its state in PostgreSQL: while the database restarts, or a silo of
/// the cluster dies as this one starts, provisioning is retried (a Polly pipeline with the pauses of
/// <see cref="StartupRetry"/>, for up to <see cref="DatabaseOptions.StartupRetryTimeout"/>) instead of ending the silo at its first transient error.
/// </remarks>
internal sealed partial class StartupProvisioner(
    IServiceProvider services,
    IGrainFactory grains,
    StartupState state,
    IOptions<ClusterHostingOptions> cluster,
    IOptions<DemoOptions> demo,
    IOptions<DatabaseOptions> database,
    TimeProvider time,
    ILogger<StartupProvisioner> logger) : IHostedService
{
    /// <summary>
    /// The key id of a configured demo key, unless the tenant lists another configured key under it (the configured
    /// secret changed): then it gets a new id. Earlier versions bound the configured key under this id.
    /// </summary>
    internal const string ConfiguredDemoKeyId = "key_demo";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var catalog = services.GetRequiredService<ModelCatalog>();
        services.GetRequiredService<ServerClock>();
        LogModels(logger, string.Join(", ", catalog.Models.Select(m => m.Name)));
        if (catalog.Failures.Count > 0)
        {
            LogModelsNotServed(logger, string.Join(", ", catalog.Failures.Select(f => f.Name)));
        }
        if (cluster.Value.Storage == StorageKind.Memory)
        {
            LogInMemory(logger, state.Profile);
        }

        string? issued = null;
        var options = demo.Value;
        if (options.Enabled)
        {
            issued = await ProvisionDemoWithRetriesAsync(options, cancellationToken);
        }

        state.MarkStarted(issued, options.Enabled && options.ApiKey is not null);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs <see cref="ProvisionDemoAsync"/> until it succeeds, fails for good, or the retry bound passes.</summary>
    private async Task<string?> ProvisionDemoWithRetriesAsync(DemoOptions options, CancellationToken cancellationToken)
    {
        // Real time, like the database wait: the app's clock may be a test's, which does not move by itself.
        var retries = ProvisionRetries(database.Value, TimeProvider.System, logger, options.TenantId);
        return await retries.ExecuteAsync(async _ => await ProvisionDemoAsync(options), cancellationToken);
    }

    /// <summary>
    /// Retries transient failures (<see cref="ClusterFailures.IsTransient"/>) with the pauses of
    /// <see cref="StartupRetry"/>, as long as the next pause ends within <see cref="DatabaseOptions.StartupRetryTimeout"/>
    /// of the first attempt.
    /// </summary>
    internal static ResiliencePipeline ProvisionRetries(DatabaseOptions retry, TimeProvider clock, ILogger logger, string tenantId)
    {
        var started = clock.GetTimestamp();
        var options = StartupRetry.Options(retry);
        options.ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && ClusterFailures.IsTransient(e)
            && clock.GetElapsedTime(started) + StartupRetry.Pause(retry, args.AttemptNumber) < retry.StartupRetryTimeout);
        options.OnRetry = args =>
        {
            LogProvisionRetry(logger, args.Outcome.Exception!, tenantId, args.AttemptNumber + 1, args.RetryDelay);
            return ValueTask.CompletedTask;
        };
        return new ResiliencePipelineBuilder { TimeProvider = clock }.AddRetry(options).Build();
    }

    /// <summary>
    /// Creates the demo tenant when missing, and lists the configured key (by hash only) as one of its keys or issues a
    /// new one. Every start of every silo does this: the key is listed once, and a revoked one stays revoked. A deleted
    /// demo tenant gets no key (a configured one is listed revoked).
    /// </summary>
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
            // No part of a secret the operator chose is shown: an issued key's prefix is random, this one's could be most of it.
            var key = new ApiKeyInfo(ConfiguredDemoKeyId, options.TenantId, "demo (configured)", "(configured)", time.GetUtcNow(), null);
            var listed = await tenant.AddConfiguredKeyAsync(ApiKeyHash.Hash(secret), key);
            if (listed.RevokedAt is not null)
            {
                LogDemoKeyRevoked(logger, options.TenantId, listed.KeyId);
            }

            return null;
        }

        try
        {
            return (await tenant.IssueKeyAsync("demo")).Secret;
        }
        catch (TenantDeletedException)
        {
            LogDemoDeleted(logger, options.TenantId);
            return null;
        }
    }
}
