using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Timers;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Audit;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Billing;

/// <summary>
/// A subsidy program (key: program id), persisted in the grain storage named <see cref="TokenGridStorage.Name"/>. The
/// decisions are a <see cref="SubsidyBook"/>'s; this grain runs them through a <see cref="GroupCommit"/>, one at a
/// time, in arrival order, and answers each only once saved. Reservations and settlements interleave, so under load
/// one write saves every step that arrived during the previous one. When a save fails, the steps fail with
/// <see cref="StorageUnavailableException"/> (or <see cref="StorageFailedException"/> for an error a retry cannot fix)
/// and the activation deactivates, so the next one starts over from storage.
/// </summary>
/// <remarks>
/// Leak repair: a tenant reserves here before it saves its own admission, so a tenant silo dying in between leaves a
/// reservation no tenant will settle. While the program has open reservations, a reminder (stored by the reminder
/// service, so it fires on a live silo whichever silo died) asks the tenant of every reservation older than
/// <see cref="SubsidyOptions.ReservationTimeout"/> whether it holds the job, and releases it when not.
/// </remarks>
public sealed partial class SubsidyProgramGrain(
    [PersistentState("subsidy-program", TokenGridStorage.Name)] IPersistentState<SubsidyProgramState> state,
    IGrainFactory grainFactory,
    TimeProvider timeProvider,
    IOptions<SubsidyOptions> options,
    ILogger<SubsidyProgramGrain> logger)
    : Grain, ISubsidyProgramGrain, IRemindable
{
    private const string RepairReminder = "repair-reservations";

    private readonly SubsidyBook _book = new(timeProvider);
    private GroupCommit _commit = null!;

    /// <summary>Whether the reminder is registered, as far as this activation knows (null: not known yet).</summary>
    private bool? _repairArmed;

    /// <summary>The reconciliation in progress, which callers join rather than registering again.</summary>
    private Task? _repairSync;

    private string ProgramId => this.GetPrimaryKeyString();

    /// <inheritdoc/>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _book.Reset(state.State);
        _commit = new GroupCommit(SaveAsync, Unsaved, (e, steps) =>
        {
            LogSaveFailed(logger, e, ProgramId, steps);
            DeactivateOnIdle();
        });
        await SyncRepairAsync();
    }

    /// <inheritdoc/>
    public async Task<SubsidyProgramInfo> PutAsync(SubsidyProgram program, string? actor = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (!string.Equals(program.Id, ProgramId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The program's id '{program.Id}' is not this grain's '{ProgramId}'.", nameof(program));
        }

        var (before, info) = await _commit.ApplyAsync(() => (_book.Info(), _book.Put(program)));

        // Idempotent; repairs the directory if an earlier registration was lost.
        await grainFactory.GetGrain<ISubsidyDirectoryGrain>(0).AddAsync(ProgramId);
        LogPut(logger, ProgramId, program.ShareBasisPoints, program.BudgetPerPeriod, program.OnExhausted);
        if (actor is not null)
        {
            // In this turn, so the next change waits for it: the log has them in order, each after the one before.
            await ServiceProvider.GetRequiredService<IAuditRecorder>().RecordAsync(actor, AuditActions.SubsidyPut, ProgramId, before, info);
        }

        return info;
    }

    /// <inheritdoc/>
    public Task<SubsidyProgramInfo?> GetAsync() => Task.FromResult(_book.Info());

    /// <inheritdoc/>
    public async Task<SubsidyGrant> ReserveAsync(string tenantId, string jobId, Money wanted, Money? minimum = null)
    {
        var grant = await _commit.ApplyAsync(() => _book.Reserve(tenantId, jobId, wanted, minimum));
        if (grant.Granted > Money.Zero)
        {
            await SyncRepairAsync();
        }

        return grant;
    }

    /// <inheritdoc/>
    public async Task SettleAsync(string tenantId, string jobId, Money spent)
    {
        if (await _commit.ApplyAsync(() => _book.Settle(tenantId, jobId, spent)))
        {
            LogSettled(logger, ProgramId, tenantId, jobId, spent);
        }
    }

    /// <inheritdoc/>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!string.Equals(reminderName, RepairReminder, StringComparison.Ordinal))
        {
            return;
        }

        // It ticked, so it is registered, whatever an earlier activation left behind.
        _repairArmed = true;
        var stale = _book.OpenSince(timeProvider.GetUtcNow() - options.Value.ReservationTimeout);
        var released = 0;
        foreach (var (jobId, reservation) in stale)
        {
            bool held;
            try
            {
                held = await grainFactory.GetGrain<ITenantGrain>(reservation.TenantId).HoldsJobAsync(jobId);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Asked again at the next tick.
                LogRepairCheckFailed(logger, e, ProgramId, reservation.TenantId, jobId);
                continue;
            }

            if (!held && await _commit.ApplyAsync(() => _book.Release(jobId, reservation.ReservedAt)))
            {
                LogReleased(logger, ProgramId, reservation.TenantId, jobId, reservation.Amount);
                released++;
            }
        }

        LogRepairTick(logger, ProgramId, stale.Count, released, _book.State.Open.Count);
        await SyncRepairAsync();
    }

    /// <summary>Saves the state when a step of the batch changed it (a batch of repeats writes nothing).</summary>
    private async Task<bool> SaveAsync(int steps)
    {
        if (_book.Dirty)
        {
            await state.WriteStateAsync();
            _book.MarkSaved();
        }

        return true;
    }

    private Exception Unsaved(Exception cause) => StorageFailedException.For(cause, $"Subsidy program '{ProgramId}' could not save its state");

    /// <summary>
    /// Makes the reminder exist exactly while the program has open reservations (where the silo has a reminder
    /// service), and returns once it does; callers join the reconciliation in progress (as the tenant grain does).
    /// </summary>
    private Task SyncRepairAsync()
    {
        if (ServiceProvider.GetService<IReminderRegistry>() is null)
        {
            return Task.CompletedTask;
        }

        return _repairSync is { IsCompleted: false } running ? running : _repairSync = ReconcileRepairAsync();
    }

    /// <summary>Registers or unregisters until the reminder matches the open reservations, checking after every await.</summary>
    private async Task ReconcileRepairAsync()
    {
        try
        {
            bool wanted;
            while (_repairArmed != (wanted = _book.State.Open.Count > 0))
            {
                if (wanted)
                {
                    var period = options.Value.RepairPeriod;
                    await this.RegisterOrUpdateReminder(RepairReminder, period, period);
                }
                else if (_repairArmed is true && await this.GetReminder(RepairReminder) is { } reminder)
                {
                    // A reminder left by an earlier activation (state unknown) unregisters at its next tick.
                    await this.UnregisterReminder(reminder);
                }

                _repairArmed = wanted;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Tried again by the next reservation or tick.
            LogRepairReminderFailed(logger, e, ProgramId);
        }
    }
}
