using System.Collections.Concurrent;
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
        services.AddSingleton<ReservationArrivals>();
        services.AddSingleton<IIncomingGrainCallFilter>(provider => provider.GetRequiredService<ReservationArrivals>());
        services.AddSingleton<HeldTenantChecks>();
        services.AddSingleton<IIncomingGrainCallFilter>(provider => provider.GetRequiredService<HeldTenantChecks>());
    }

    /// <summary>Holds a tenant's answer to a program's leak repair.</summary>
    public HeldTenantChecks TenantChecks => SiloService<HeldTenantChecks>();

    /// <summary>Signals reservations reaching their program grain.</summary>
    public ReservationArrivals Arrivals => SiloService<ReservationArrivals>();

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

/// <summary>
/// A grain storage that passes to another, fails the writes of a state name while told to, and can hold the next
/// write of the subsidy programs' state.
/// </summary>
public sealed class FlakyGrainStorage(IGrainStorage inner) : IGrainStorage
{
    private int _writes;
    private readonly Lock _gate = new();
    private (TaskCompletionSource Entered, TaskCompletionSource Released)? _held;

    /// <summary>Writes of this state name fail while set.</summary>
    public string? FailWritesOf { get; set; }

    /// <summary>How many writes of the subsidy programs' state were asked for.</summary>
    public int ProgramWrites => Volatile.Read(ref _writes);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    /// <summary>Holds the next program write: <c>Entered</c> completes when it starts, and it goes on once <c>Release</c> is called.</summary>
    public (Task Entered, Action Release) HoldNextProgramWrite()
    {
        var hold = (Entered: new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously),
            Released: new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_gate)
        {
            _held = hold;
        }

        return (hold.Entered.Task, hold.Released.SetResult);
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (stateName == "subsidy-program")
        {
            Interlocked.Increment(ref _writes);
            (TaskCompletionSource Entered, TaskCompletionSource Released)? held;
            lock (_gate)
            {
                held = _held;
                _held = null;
            }

            if (held is { } hold)
            {
                hold.Entered.SetResult();
                await hold.Released.Task;
            }
        }

        if (stateName == FailWritesOf)
        {
            throw new InvalidOperationException("The store is down (test).");
        }

        await inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
}

[CollectionDefinition(Name)]
public sealed class SubsidyClusterCollection : ICollectionFixture<SubsidyClusterFixture>
{
    public const string Name = "Subsidy cluster";
}

/// <summary>Tells a test when a reservation has reached its program grain (which queues its step in that turn).</summary>
public sealed class ReservationArrivals : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);

    /// <summary>Completes when the next reservation for <paramref name="jobId"/> arrives; call it before sending it.</summary>
    public Task NextAsync(string jobId) =>
        _waiting.GetOrAdd(jobId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.Grain is ISubsidyProgramGrain && context.MethodName == nameof(ISubsidyProgramGrain.ReserveAsync)
            && context.Request.GetArgument(1) is string jobId && _waiting.TryRemove(jobId, out var arrival))
        {
            arrival.TrySetResult();
        }

        return context.Invoke();
    }
}

/// <summary>Holds the next <see cref="ITenantGrain.HoldsJobAsync"/> call inside its tenant grain until released.</summary>
public sealed class HeldTenantChecks : IIncomingGrainCallFilter
{
    private readonly Lock _gate = new();
    private (TaskCompletionSource Entered, TaskCompletionSource Released)? _held;

    /// <summary><c>Entered</c> completes when the next check reaches its tenant; it is answered once <c>Release</c> is called.</summary>
    public (Task Entered, Action Release) HoldNext()
    {
        var hold = (Entered: new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously),
            Released: new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_gate)
        {
            _held = hold;
        }

        return (hold.Entered.Task, hold.Released.SetResult);
    }

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        (TaskCompletionSource Entered, TaskCompletionSource Released)? held = null;
        if (context.Grain is ITenantGrain && context.MethodName == nameof(ITenantGrain.HoldsJobAsync))
        {
            lock (_gate)
            {
                held = _held;
                _held = null;
            }
        }

        if (held is { } hold)
        {
            hold.Entered.SetResult();
            await hold.Released.Task;
        }

        await context.Invoke();
    }
}
