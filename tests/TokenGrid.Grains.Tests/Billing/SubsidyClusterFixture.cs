using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing;
using TokenGrid.Grains.Tenants;
using TokenGrid.Grains.Tests.Support;
using TokenGrid.Grains.Tests.Tenants;

namespace TokenGrid.Grains.Tests.Billing;

/// <summary>
/// One silo with the tenant and billing services, the reminder service on a <see cref="RecordingReminderTable"/>, and
/// the grid's grain storage behind a <see cref="FlakyGrainStorage"/>. The grains read a <see cref="FakeTimeProvider"/>;
/// Orleans' own loops stay on real time.
/// </summary>
public sealed class SubsidyClusterFixture : ClusterFixture
{
    private int _ids;

    /// <summary>The grains' clock.</summary>
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 14, 9, 26, 53, TimeSpan.Zero));

    public RecordingReminderTable Reminders { get; } = new();

    public FlakyGrainStorage Storage => (FlakyGrainStorage)SiloService<IGrainStorage>(TokenGridStorage.Name);

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddReminders();
        silo.Services.AddSingleton<IReminderTable>(Reminders);
        silo.Services.AddKeyedSingleton<IGrainStorage>(
            TokenGridStorage.Name, (provider, _) => new FlakyGrainStorage(MemoryGrainStorageFactory.Create(provider, TokenGridStorage.Name)));
    }

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<TimeProvider>(Time);
        services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        services.AddTokenGridTenants();
        services.AddTokenGridBilling();
    }

    /// <summary>A new program with the budget (in micros) and exhaustion given, 40% share.</summary>
    public async Task<ISubsidyProgramGrain> NewProgramAsync(long budget, SubsidyExhaustion onExhausted)
    {
        var id = $"program-{Interlocked.Increment(ref _ids)}";
        var program = Client.GetGrain<ISubsidyProgramGrain>(id);
        await program.PutAsync(new SubsidyProgram(id, 4000, new Money(budget), onExhausted));
        return program;
    }

    /// <summary>A new tenant with room everywhere.</summary>
    public async Task<ITenantGrain> NewTenantAsync()
    {
        var id = $"tenant-{Interlocked.Increment(ref _ids)}";
        var tenant = Client.GetGrain<ITenantGrain>(id);
        await tenant.CreateAsync(new TenantSpec(id, TenantTestKit.Roomy));
        return tenant;
    }
}

/// <summary>A grain storage that passes to another and fails the writes of a state name while told to.</summary>
public sealed class FlakyGrainStorage(IGrainStorage inner) : IGrainStorage
{
    private int _writes;

    /// <summary>Writes of this state name fail while set.</summary>
    public string? FailWritesOf { get; set; }

    /// <summary>How many writes of the subsidy programs' state were asked for.</summary>
    public int ProgramWrites => Volatile.Read(ref _writes);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (stateName == "subsidy-program")
        {
            Interlocked.Increment(ref _writes);
        }

        return stateName == FailWritesOf
            ? Task.FromException(new InvalidOperationException("The store is down (test)."))
            : inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
}

[CollectionDefinition(Name)]
public sealed class SubsidyClusterCollection : ICollectionFixture<SubsidyClusterFixture>
{
    public const string Name = "Subsidy cluster";
}
