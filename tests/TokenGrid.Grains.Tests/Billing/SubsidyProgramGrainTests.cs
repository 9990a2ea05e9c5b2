using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Storage;

namespace TokenGrid.Grains.Tests.Billing;

[Collection(SubsidyClusterCollection.Name)]
public sealed class SubsidyProgramGrainTests(SubsidyClusterFixture fixture)
{
    private const string RepairReminder = "repair-reservations";

    [Theory]
    [InlineData(SubsidyExhaustion.FullPrice)]
    [InlineData(SubsidyExhaustion.Refuse)]
    public async Task Two_hundred_concurrent_reservations_never_hold_a_micro_more_than_the_budget(SubsidyExhaustion onExhausted)
    {
        const long budget = 5_000;
        var program = await fixture.NewProgramAsync(budget, onExhausted);
        var wanted = Enumerable.Range(0, 200).Select(i => 1 + (i * 37 % 60)).ToList();

        var grants = await Task.WhenAll(wanted.Select((w, i) => program.ReserveAsync($"t{i % 7}", $"job-{i}", new Money(w))));

        var granted = grants.Sum(g => g.Granted.Micros);
        var info = (await program.GetAsync())!;
        Assert.Equal(granted, info.Reserved.Micros);
        Assert.Equal(budget - granted, info.Remaining.Micros);
        Assert.True(granted <= budget);
        Assert.True(wanted.Sum() > budget);
        if (onExhausted == SubsidyExhaustion.FullPrice)
        {
            // Demand exceeds the budget, and full price grants what is left: all of it is held.
            Assert.Equal(budget, granted);
            Assert.DoesNotContain(grants, g => g.Refused);
        }
        else
        {
            Assert.Contains(grants, g => g.Refused);
            Assert.All(grants.Zip(wanted), p => Assert.Equal(p.First.Refused ? 0 : p.Second, p.First.Granted.Micros));
        }

        // Settling every job for more than it holds charges each its reservation, exactly once.
        await Task.WhenAll(Enumerable.Range(0, 200).SelectMany(i => new[]
        {
            program.SettleAsync($"t{i % 7}", $"job-{i}", new Money(1_000)),
            program.SettleAsync($"t{i % 7}", $"job-{i}", new Money(1_000)),
        }));
        var settled = (await program.GetAsync())!;
        Assert.Equal((granted, 0L, budget - granted), (settled.Spent.Micros, settled.Reserved.Micros, settled.Remaining.Micros));
    }

    [Fact]
    public async Task Reservations_arriving_during_a_save_are_saved_together_in_one_write()
    {
        var program = await fixture.NewProgramAsync(1_000_000, SubsidyExhaustion.FullPrice);
        var (entered, release) = fixture.Storage.HoldNextProgramWrite();
        var first = program.ReserveAsync("t", "first", new Money(1));
        await entered;

        var jobs = Enumerable.Range(0, 50).Select(i => $"queued-{i}").ToList();
        var arrived = Task.WhenAll(jobs.Select(fixture.Arrivals.NextAsync));
        var queued = jobs.Select(job => program.ReserveAsync("t", job, new Money(10))).ToList();
        await arrived;
        var writes = fixture.Storage.ProgramWrites;
        release();
        await first;
        await Task.WhenAll(queued);

        Assert.Equal(writes + 1, fixture.Storage.ProgramWrites);
        Assert.Equal(new Money(501), (await program.GetAsync())!.Reserved);
    }

    [Fact]
    public async Task Concurrent_repeats_of_a_reservation_hold_it_once()
    {
        var program = await fixture.NewProgramAsync(1_000, SubsidyExhaustion.FullPrice);

        var grants = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => program.ReserveAsync("t", "job", new Money(300 + i))));

        Assert.All(grants, g => Assert.Equal(grants[0], g));
        Assert.Equal(grants[0].Granted, (await program.GetAsync())!.Reserved);
    }

    [Fact]
    public async Task The_state_survives_deactivation()
    {
        var program = await fixture.NewProgramAsync(1_000, SubsidyExhaustion.Refuse);
        await program.ReserveAsync("t", "a", new Money(400));
        await program.ReserveAsync("t", "b", new Money(300));
        await program.SettleAsync("t", "a", new Money(100));
        var before = (await program.GetAsync())!;

        await fixture.Cluster.DeactivateAsync(program);

        Assert.Equal(before, await program.GetAsync());
        Assert.Equal(new SubsidyGrant(new Money(300), false), await program.ReserveAsync("t", "b", new Money(1)));
        Assert.Equal(new SubsidyGrant(Money.Zero, false), await program.ReserveAsync("t", "a", new Money(1)));
        Assert.True((await program.ReserveAsync("t", "c", new Money(601))).Refused);
    }

    [Fact]
    public async Task A_failed_save_answers_unavailable_and_the_next_activation_starts_from_what_was_saved()
    {
        var program = await fixture.NewProgramAsync(1_000, SubsidyExhaustion.FullPrice);
        await program.ReserveAsync("t", "saved", new Money(100));

        fixture.Storage.FailWritesOf = "subsidy-program";
        try
        {
            await Assert.ThrowsAsync<StorageUnavailableException>(() => program.ReserveAsync("t", "lost", new Money(200)));
        }
        finally
        {
            fixture.Storage.FailWritesOf = null;
        }

        // The failed activation deactivates; a call may still reach it before it goes, and fails fast.
        SubsidyProgramInfo? info = null;
        for (var attempt = 0; info is null; attempt++)
        {
            Assert.True(attempt < 10_000, "The failed activation did not deactivate.");
            try
            {
                info = await program.GetAsync();
                await program.ReserveAsync("t", "probe", Money.Zero);
            }
            catch (StorageUnavailableException)
            {
                info = null;
                await Task.Yield();
            }
        }

        info = (await program.GetAsync())!;
        Assert.Equal(new Money(100), info.Reserved);
        Assert.Equal(new SubsidyGrant(new Money(200), false), await program.ReserveAsync("t", "lost", new Money(200)));
    }

    [Fact]
    public async Task Leak_repair_releases_old_reservations_whose_tenant_never_admitted_the_job()
    {
        var tenant = await fixture.NewTenantAsync();
        var tenantId = tenant.GetPrimaryKeyString();
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("admitted", "m", 10, 10))).Admitted);
        var program = await fixture.NewProgramAsync(1_000, SubsidyExhaustion.FullPrice);
        await program.ReserveAsync(tenantId, "admitted", new Money(100));
        await program.ReserveAsync(tenantId, "lost", new Money(200));
        Assert.True(fixture.Reminders.Has(program.GetGrainId(), RepairReminder));

        // Young reservations are left alone, whoever holds them.
        await TickAsync(program);
        Assert.Equal(new Money(300), (await program.GetAsync())!.Reserved);

        fixture.Time.Advance(TimeSpan.FromMinutes(5));
        await program.ReserveAsync(tenantId, "young", new Money(50));
        await TickAsync(program);

        Assert.Equal(new Money(150), (await program.GetAsync())!.Reserved);
        Assert.Equal(new SubsidyGrant(Money.Zero, false), await program.ReserveAsync(tenantId, "lost", new Money(200)));

        // Once nothing is open, a tick removes the reminder.
        await program.SettleAsync(tenantId, "admitted", new Money(100));
        await program.SettleAsync(tenantId, "young", new Money(0));
        await TickAsync(program);
        Assert.False(fixture.Reminders.Has(program.GetGrainId(), RepairReminder));
        Assert.Equal((new Money(100), Money.Zero), ((await program.GetAsync())!.Spent, (await program.GetAsync())!.Reserved));
    }

    [Fact]
    public async Task A_settlement_after_the_month_ended_charges_its_own_month_and_the_new_month_has_the_whole_budget()
    {
        var program = await fixture.NewProgramAsync(1_000, SubsidyExhaustion.Refuse);
        await program.ReserveAsync("t", "last-month", new Money(1_000));
        Assert.True((await program.ReserveAsync("t", "refused", new Money(1))).Refused);

        var now = fixture.Time.GetUtcNow();
        fixture.Time.SetUtcNow(new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1));
        Assert.Equal(new SubsidyGrant(new Money(1_000), false), await program.ReserveAsync("t", "this-month", new Money(1_000)));
        await program.SettleAsync("t", "last-month", new Money(400));

        var info = (await program.GetAsync())!;
        Assert.Equal((fixture.Time.GetUtcNow(), Money.Zero, new Money(1_000), Money.Zero), (info.PeriodStart, info.Spent, info.Reserved, info.Remaining));
    }

    [Fact]
    public async Task The_program_answers_reads_and_reservations_while_its_repair_waits_on_a_tenant()
    {
        var program = await fixture.NewProgramAsync(1_000, SubsidyExhaustion.FullPrice);
        var tenant = (await fixture.NewTenantAsync()).GetPrimaryKeyString();
        await program.ReserveAsync(tenant, "old", new Money(100));
        fixture.Time.Advance(TimeSpan.FromMinutes(6));

        // A tenant admitting may be waiting on the program's answer while the program's repair waits on that tenant:
        // reads, reservations and settlements must get through, or the two would wait on each other.
        var (entered, release) = fixture.TenantChecks.HoldNext();
        var tick = TickAsync(program);
        await entered;
        var during = await program.GetAsync();
        var grant = await program.ReserveAsync(tenant, "new", new Money(50));
        release();
        await tick;

        Assert.Equal((new Money(100), new SubsidyGrant(new Money(50), false)), (during!.Reserved, grant));
        Assert.Equal(new Money(50), (await program.GetAsync())!.Reserved);
    }

    [Fact]
    public async Task An_unknown_program_grants_nothing_and_a_program_is_put_only_under_its_own_id()
    {
        var unknown = fixture.Client.GetGrain<ISubsidyProgramGrain>("no-such-program");

        Assert.Equal(new SubsidyGrant(Money.Zero, false), await unknown.ReserveAsync("t", "j", new Money(5)));
        Assert.Null(await unknown.GetAsync());
        await Assert.ThrowsAsync<ArgumentException>(() => unknown.PutAsync(new SubsidyProgram("other", 1, Money.Zero, SubsidyExhaustion.Refuse)));
        Assert.DoesNotContain("no-such-program", await fixture.Client.GetGrain<ISubsidyDirectoryGrain>(0).ListAsync());
    }

    [Fact]
    public async Task A_put_program_is_listed_in_the_directory()
    {
        var program = await fixture.NewProgramAsync(1, SubsidyExhaustion.Refuse);

        Assert.Contains(program.GetPrimaryKeyString(), await fixture.Client.GetGrain<ISubsidyDirectoryGrain>(0).ListAsync());
    }

    /// <summary>The repair reminder ticks, as Orleans' reminder service would deliver it.</summary>
    private static Task TickAsync(ISubsidyProgramGrain program) =>
        program.AsReference<IRemindable>().ReceiveReminder(RepairReminder, new TickStatus(DateTime.UtcNow, TimeSpan.FromMinutes(1), DateTime.UtcNow));
}
