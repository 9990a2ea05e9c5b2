using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.TestingHost;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Tenants;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Tenants;

/// <summary>
/// The tenant's job recovery reminder, on Orleans' reminder service: it exists exactly while the tenant has open jobs,
/// and concurrent admissions register it once.
/// </summary>
public sealed class RecoveryReminderTests(RecoveryReminderTests.Cluster cluster) : IClassFixture<RecoveryReminderTests.Cluster>
{
    private const string Reminder = "recover-open-jobs";

    [Fact]
    public async Task A_burst_of_admissions_registers_the_reminder_once()
    {
        var tenant = await cluster.NewTenantAsync();
        var before = cluster.Table.Upserts;

        // The first registration is held until every admission of the burst is stored, so each of them reaches the
        // point of arming the reminder while it is not registered yet.
        var (entered, release) = cluster.Table.HoldNextUpsert();
        var jobs = Enumerable.Range(0, 64).Select(i => $"j{i}").ToList();
        var stored = Task.WhenAll(jobs.Select(job => cluster.Store.ReserveStoredAsync(tenant.GetPrimaryKeyString(), job)));
        var pending = jobs.Select(job => tenant.AdmitAsync(new AdmissionRequest(job, "m", 10, 10))).ToList();
        await Task.WhenAll(entered, stored);
        release();
        var admissions = await Task.WhenAll(pending);

        Assert.All(admissions, admission => Assert.True(admission.Admitted));
        Assert.Equal(1, cluster.Table.Upserts - before);
        Assert.True(cluster.Table.Has(tenant.GetGrainId(), Reminder));
    }

    [Fact]
    public async Task An_admission_during_an_idle_ticks_unregistration_gets_the_reminder_back()
    {
        var tenant = await IdleTenantWithReminderAsync();

        // The tick finds no open job and unregisters; its removal is held while job b is admitted.
        var (entered, release) = cluster.Table.HoldNextRemoval();
        var tick = TickAsync(tenant);
        await entered;
        var stored = cluster.Store.ReserveStoredAsync(tenant.GetPrimaryKeyString(), "b");
        var admitted = tenant.AdmitAsync(new AdmissionRequest("b", "m", 10, 10));
        await stored;
        release();
        await tick;

        Assert.True((await admitted).Admitted);
        Assert.True(cluster.Table.Has(tenant.GetGrainId(), Reminder));
    }

    [Fact]
    public async Task An_idle_tick_removes_the_reminder_without_registering_it_again()
    {
        var tenant = await IdleTenantWithReminderAsync();
        var registered = cluster.Table.Upserts;

        await TickAsync(tenant);

        Assert.False(cluster.Table.Has(tenant.GetGrainId(), Reminder));
        Assert.Equal(registered, cluster.Table.Upserts);
    }

    /// <summary>A new tenant that admitted and settled one job: no job is open, and the reminder is still registered.</summary>
    private async Task<ITenantGrain> IdleTenantWithReminderAsync()
    {
        var tenant = await cluster.NewTenantAsync();
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("a", "m", 10, 10))).Admitted);
        await tenant.SettleAsync(new SettlementRequest("a", 10, 5, JobOutcome.Completed));
        Assert.True(cluster.Table.Has(tenant.GetGrainId(), Reminder));
        return tenant;
    }

    /// <summary>The reminder ticks, as Orleans' reminder service would deliver it.</summary>
    private static Task TickAsync(ITenantGrain tenant) =>
        tenant.AsReference<IRemindable>().ReceiveReminder(Reminder, new TickStatus(DateTime.UtcNow, TimeSpan.FromSeconds(10), DateTime.UtcNow));

    /// <summary>One silo with the tenant services and the reminder service on a <see cref="RecordingReminderTable"/>.</summary>
    public sealed class Cluster : ClusterFixture
    {
        private int _tenants;

        protected override void ConfigureSilo(ISiloBuilder silo)
        {
            silo.AddReminders();
            silo.Services.AddSingleton<IReminderTable>(Table);

            // As the silo's hosting allows: the recovery period is below Orleans' default minimum.
            silo.Configure<ReminderOptions>(reminders => reminders.MinimumReminderPeriod = new JobRecoveryOptions().RecoveryPeriod);
        }

        protected override void ConfigureServices(IServiceCollection services)
        {
            services.AddSingleton(provider => new FlakyTenantStore(
                provider.GetRequiredService<DeepCopier>(), ActivatorUtilities.CreateInstance<InMemoryTenantStore>(provider)));
            services.AddSingleton<ITenantStore>(provider => provider.GetRequiredService<FlakyTenantStore>());
            services.AddTokenGridTenants();
        }

        public RecordingReminderTable Table { get; } = new();

        /// <summary>The silo's tenant store (the in-memory one), which tells when a reservation is stored.</summary>
        public FlakyTenantStore Store => SiloService<FlakyTenantStore>();

        public async Task<ITenantGrain> NewTenantAsync()
        {
            var id = $"reminders-{Interlocked.Increment(ref _tenants)}";
            var tenant = Client.GetGrain<ITenantGrain>(id);
            await tenant.CreateAsync(new TenantSpec(id, TenantTestKit.Roomy));
            return tenant;
        }
    }
}
