using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Serialization;
using Orleans.TestingHost;
using TokenGrid.Grains;
using TokenGrid.Grains.Tenants;
using TokenGrid.Grains.Tests.Tenants;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>
/// One in-process silo with memory storage and the tenant services, whose grains read a <see cref="FakeTimeProvider"/>
/// the tests advance. Orleans' own background loops stay on real time.
/// </summary>
public sealed class TenantClusterFixture : ClusterFixture
{
    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<TimeProvider>(Time);
        services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        // The real in-memory store behind a wrapper the tests can make fail; the ledger and job index it writes are
        // the in-memory ones AddTokenGridTenants registers.
        services.AddSingleton(provider => new FlakyTenantStore(
            provider.GetRequiredService<DeepCopier>(), ActivatorUtilities.CreateInstance<InMemoryTenantStore>(provider)));
        services.AddSingleton<ITenantStore>(provider => provider.GetRequiredService<FlakyTenantStore>());
        services.AddSingleton<AdmissionArrivals>();
        services.AddSingleton<IIncomingGrainCallFilter>(provider => provider.GetRequiredService<AdmissionArrivals>());
        services.AddTokenGridTenants();
    }

    /// <summary>The grains' clock; starts mid-month, mid-day.</summary>
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 14, 9, 26, 53, TimeSpan.Zero));

    /// <summary>The silo's tenant store; tests can make it fail, hold a save, and see what each save did.</summary>
    public FlakyTenantStore Store => SiloService<FlakyTenantStore>();

    /// <summary>Signals admissions reaching their tenant grain.</summary>
    public AdmissionArrivals Arrivals => SiloService<AdmissionArrivals>();

    public IGrainFactory Grains => Cluster.Client;
}

[CollectionDefinition(Name)]
public sealed class TenantClusterCollection : ICollectionFixture<TenantClusterFixture>
{
    public const string Name = "Tenant cluster";
}
