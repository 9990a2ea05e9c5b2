using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Timers;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.ApiKeys;
using TokenGrid.Grains.Audit;
using TokenGrid.Grains.Billing;
using TokenGrid.Grains.JobIndex;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Ledger;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// A tenant's budget, keys and ledger (key: tenant id). The decisions are a <see cref="TenantAccount"/>'s; this grain
/// runs them through a <see cref="GroupCommit"/>, one at a time, in arrival order, on the state the previous one left,
/// and answers each only once saved. The state is kept by an <see cref="ITenantStore"/>, which saves the ledger lines
/// and job ids of each batch with it.
/// </summary>
/// <remarks>
/// <para>
/// Admissions and settlements interleave (<c>[AlwaysInterleave]</c>), which is what lets a batch gather: under load a
/// batch holds as many steps as arrived during the previous save, one write instead of one each. An answer is never
/// given before the state holding it is saved; a crash before the save loses only unanswered steps. When a save fails,
/// the steps fail with <see cref="StorageUnavailableException"/> (or <see cref="StorageFailedException"/> for an error a
/// retry cannot fix) and the activation deactivates, so the next one starts over from the saved state.
/// </para>
/// <para>
/// When the store refuses a batch because it reserves for a job id the ledger already reserved for (a job settled so
/// long ago that the state's window no longer holds it), nothing was saved: the grain reloads the saved state and
/// applies the same steps again, this time refusing those job ids with <see cref="JobAlreadySettledException"/>.
/// </para>
/// <para>
/// The tenant is also the safety net of job failover. Its open reservations are exactly the jobs admitted and not yet
/// settled. While there are any, a reminder (stored by the reminder service, so it fires on a live silo whichever silo
/// died) wakes those jobs every <see cref="JobRecoveryOptions.RecoveryPeriod"/>: a job grain that died with its silo
/// reactivates from its checkpoint and resumes, a waiting job whose dispatcher died queues again, and a job that was
/// admitted but never saved settles for 0 tokens. No job is lost and no reservation stays open.
/// </para>
/// </remarks>
public sealed partial class TenantGrain(
    ITenantStore store,
    TimeProvider timeProvider,
    TokenGridInstruments instruments,
    ILedgerStore ledger,
    IJobIndex jobIndex,
    IGrainFactory grainFactory,
    IOptions<JobRecoveryOptions> recovery,
    ILogger<TenantGrain> logger)
    : Grain, ITenantGrain, IRemindable
{
    /// <summary>The largest page <see cref="GetLedgerAsync"/> and <see cref="ListJobIdsAsync"/> return.</summary>
    public const int MaxPageSize = TenantRequests.MaxPageSize;

    private const string RecoveryReminder = "recover-open-jobs";

    private TenantAccount _account = null!;
    private GroupCommit _commit = null!;
    private TenantPricing _pricing = null!;

    /// <summary>The account's spend cap precheck, made into a delegate once rather than per admission.</summary>
    private Func<Money, string, DateTimeOffset, Refusal?> _capPrecheck = null!;

    /// <summary>The version of the saved state this activation's state continues.</summary>
    private long _version;

    /// <summary>Whether the reminder is registered, as far as this activation knows (null: not known yet).</summary>
    private bool? _recoveryArmed;

    /// <summary>The send of pending subsidies in progress, if any.</summary>
    private Task? _subsidySend;

    /// <summary>The reconciliation in progress, which callers join rather than registering again.</summary>
    private Task? _recoverySync;

    /// <summary>Returns idle subsidy allowances while the tenant keeps any (see <see cref="SubsidyAllowances.Linger"/>).</summary>
    private IGrainTimer? _allowanceTimer;

    /// <summary>The post of pending spend webhook events in progress, if any.</summary>
    private Task? _webhookSend;

    /// <summary>Failed posts in a row, and when the next may be tried (and the timer that tries it).</summary>
    private int _webhookFailures;
    private DateTimeOffset _webhookRetryAt;
    private IGrainTimer? _webhookRetry;

    private string TenantId => this.GetPrimaryKeyString();

    /// <summary>The state as the applied changes left it (saved, or being saved, by the group commit).</summary>
    private TenantState State => _account.State;

    /// <inheritdoc/>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _account = new TenantAccount(
            TenantId, timeProvider, (start, cleared) => LogPeriodReset(logger, TenantId, start, cleared),
            percent =>
            {
                instruments.OnSpendThreshold(percent);
                LogSpendThreshold(logger, TenantId, percent);
            });
        _commit = new GroupCommit(SaveAsync, Unsaved, (e, steps) =>
        {
            LogSaveFailed(logger, e, TenantId, steps);
            DeactivateOnIdle();
        });
        _pricing = new TenantPricing(TenantId, grainFactory, _account.Allowances, KeepAllowanceAsync, timeProvider, logger);
        _capPrecheck = _account.SpendCapPrecheck;
        await LoadAsync(cancellationToken);
        await SyncRecoveryAsync();
        ArmAllowanceTimer();
    }

    /// <inheritdoc/>
    public async Task<TenantInfo> CreateAsync(TenantSpec spec)
    {
        TenantRequests.Validate(spec);
        var created = await _commit.ApplyAsync(() => _account.Create(spec));
        await grainFactory.GetGrain<ITenantDirectoryGrain>(0).AddAsync(TenantId);
        LogCreated(logger, TenantId);
        return created;
    }

    /// <inheritdoc/>
    public async Task<TenantInfo> UpdateAsync(TenantSpec spec)
    {
        TenantRequests.Validate(spec);
        var updated = await _commit.ApplyAsync(() => _account.Update(spec));

        // Idempotent; repairs the directory if the registration after CreateAsync's save was lost.
        await grainFactory.GetGrain<ITenantDirectoryGrain>(0).AddAsync(TenantId);
        LogUpdated(logger, TenantId, spec.Enabled);
        return updated;
    }

    /// <inheritdoc/>
    public async Task<TenantInfo> PatchAsync(TenantPatch patch, string actor)
    {
        ArgumentNullException.ThrowIfNull(patch);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        var (before, after) = await _commit.ApplyAsync(() =>
        {
            var before = _account.RequireTenant();
            var spec = patch.ApplyTo(before);
            TenantRequests.Validate(spec);
            return (before, _account.Update(spec));
        });

        await grainFactory.GetGrain<ITenantDirectoryGrain>(0).AddAsync(TenantId);
        LogUpdated(logger, TenantId, after.Enabled);

        // In this turn, so the tenant's next change waits for it (see ITenantGrain.PatchAsync).
        await ServiceProvider.GetRequiredService<IAuditRecorder>().RecordAsync(actor, AuditActions.TenantUpdate, TenantId, before, after);
        return after;
    }

    /// <inheritdoc/>
    public async Task<TenantInfo> DeleteAsync()
    {
        var deleted = await _commit.ApplyAsync(() => _account.Delete());
        LogUpdated(logger, TenantId, deleted.Enabled);
        return deleted;
    }

    /// <inheritdoc/>
    public Task<TenantInfo?> GetAsync() => Task.FromResult(State.Info);

    /// <inheritdoc/>
    public async Task<AdmissionResult> AdmitAsync(AdmissionRequest request)
    {
        TenantRequests.Validate(request);
        if (State.Info is null)
        {
            // Nothing is saved for a tenant that does not exist.
            return Rejected(request, _account.RefuseMissing(request)).Result;
        }

        // A repeat for an open job (each choice's job repeats its group's admission) is answered as the first was, before
        // anything is priced or checked: priced again, its own hold would count against the spend cap and refuse what is
        // already reserved, leaving a refused job with nothing to settle. A step like any other, so it never reports an
        // admission not saved yet; should the job have settled meanwhile, it is decided below (and refused) as any other.
        if (_account.IsOpen(request.JobId) && await _commit.ApplyAsync(() => _account.Repeat(request.JobId)) is { } repeat)
        {
            return repeat.Result;
        }

        var (price, refused) = await _pricing.PriceAsync(State.Info, request, _capPrecheck);
        if (refused is { } pricingRefusal)
        {
            await NoteSpendCapRefusalAsync(pricingRefusal);
            return Rejected(request, _account.Refuse(pricingRefusal)).Result;
        }

        // A repeat after settlement is refused from the state's window of recent settlements, or by the store, which
        // refuses a second reserve line.
        var decision = await DecideAsync([(request.JobId, price)], () => Rejected(request, _account.Admit(request, price)));
        if (decision.Admitted)
        {
            await SyncRecoveryAsync();
            instruments.OnAdmitted(request.Model);
            LogAdmitted(logger, TenantId, request.JobId, request.Model, decision.Result.Reserved);
        }
        else
        {
            // A refusal by the spend cap may have raised the 100 % event.
            StartPostingWebhooks();
        }

        return decision.Result;
    }

    /// <inheritdoc/>
    public async Task<AdmissionResult> AdmitGroupAsync(IReadOnlyList<AdmissionRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Count == 0 || requests.Select(r => r.JobId).Distinct(StringComparer.Ordinal).Count() != requests.Count
            || requests.Any(r => r.Model != requests[0].Model))
        {
            throw new ArgumentException("A group needs distinct job ids of one model.", nameof(requests));
        }

        foreach (var request in requests)
        {
            TenantRequests.Validate(request);
        }

        // A group as one request: the first job's id, the summed prompt and completion tokens.
        var combined = new AdmissionRequest(
            requests[0].JobId, requests[0].Model, requests.Sum(r => r.PromptTokens), requests.Sum(r => r.MaxCompletionTokens));
        if (State.Info is null)
        {
            return Rejected(combined, _account.RefuseMissing(combined, requests.Count), requests.Count).Result;
        }

        // A repeat, answered before anything is priced (see AdmitAsync).
        if (requests.Any(r => _account.IsOpen(r.JobId)) && await _commit.ApplyAsync(() => _account.RepeatGroup(requests)) is { } repeat)
        {
            return repeat.Result;
        }

        // The cap is prechecked on the whole group's least cost, so a refusal states it (not one choice's).
        if (await _pricing.PrecheckGroupAsync(State.Info, requests, _capPrecheck) is { } overCap)
        {
            await NoteSpendCapRefusalAsync(overCap);
            return Rejected(combined, _account.Refuse(overCap), requests.Count).Result;
        }

        var prices = new List<JobPrice?>(requests.Count);
        foreach (var request in requests)
        {
            var (price, refused) = await _pricing.PriceAsync(State.Info, request);
            if (refused is { } pricingRefusal)
            {
                ReleaseAll(requests.Select(r => r.JobId).Zip(prices));
                await NoteSpendCapRefusalAsync(pricingRefusal);
                return Rejected(combined, _account.Refuse(pricingRefusal), requests.Count).Result;
            }

            prices.Add(price);
        }

        var decision = await DecideAsync([.. requests.Select(r => r.JobId).Zip(prices)], () => Rejected(combined, _account.AdmitGroup(requests, combined, prices), requests.Count));
        if (decision.Admitted)
        {
            await SyncRecoveryAsync();
            foreach (var request in requests)
            {
                instruments.OnAdmitted(request.Model);
                LogAdmitted(logger, TenantId, request.JobId, request.Model, request.Reservation);
            }
        }
        else
        {
            StartPostingWebhooks();
        }

        return decision.Result;
    }

    /// <summary>
    /// Charges a job's tokens and refunds the rest of its reservation. Idempotent: a repeat returns the first result
    /// with <see cref="Settlement.AlreadySettled"/> set (from the state's window of recent settlements, or rebuilt from
    /// the ledger for older ones). A job id that was never admitted returns zeros and logs a warning: there is nothing
    /// to charge, and failing would not help the caller.
    /// </summary>
    public async Task<Settlement> SettleAsync(SettlementRequest request)
    {
        TenantRequests.Validate(request);
        if (!_account.Holds(request.JobId))
        {
            if (LedgerBook.SettlementOf(request.JobId, await ledger.FindJobAsync(TenantId, request.JobId)) is { } old)
            {
                return old;
            }

            LogSettledUnknownJob(logger, TenantId, request.JobId);
            return new Settlement(request.JobId, 0, 0, 0, AlreadySettled: false);
        }

        // A repeat is answered from the same queue, so it never reports a settlement that is not saved yet.
        var settlement = await _commit.ApplyAsync(() => _account.Settle(request));
        if (!settlement.AlreadySettled)
        {
            LogSettled(logger, TenantId, request.JobId, request.Outcome, settlement.Charged, settlement.Refunded);
        }

        // The settlement is saved with what its program is owed (and any event it raised); telling them need not hold up
        // the answer.
        StartSendingSubsidies();
        StartPostingWebhooks();
        return settlement;
    }

    /// <inheritdoc/>
    public async Task<bool> HoldsJobAsync(string jobId) =>
        _account.Holds(jobId) || _account.Allowances.Holds(jobId) || (await ledger.FindJobAsync(TenantId, jobId)).Count > 0;

    /// <inheritdoc/>
    public async Task<IssuedApiKey> IssueKeyAsync(string name)
    {
        TenantRequests.ValidateKeyName(name);
        var secret = ApiKeyHash.NewSecret();
        var hash = ApiKeyHash.Hash(secret);
        var key = new ApiKeyInfo(ApiKeyHash.NewKeyId(), TenantId, name.Trim(), ApiKeyHash.PrefixOf(secret), timeProvider.GetUtcNow(), null);

        // Saved before it is bound, so every key that can resolve is one this tenant lists and can revoke. If binding
        // fails the secret is never shown and the listed key never resolves.
        await _commit.ApplyAsync(() => _account.AddKey(new StoredApiKey(hash, key)));
        await grainFactory.GetGrain<IApiKeyGrain>(hash).BindAsync(key);

        LogKeyIssued(logger, TenantId, key.KeyId);
        return new IssuedApiKey(key, secret);
    }

    /// <inheritdoc/>
    public async Task<ApiKeyInfo> AddConfiguredKeyAsync(string keyHash, ApiKeyInfo key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (keyHash is not { Length: 64 } || !keyHash.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException("A key hash is the lowercase hex SHA-256 of the secret.", nameof(keyHash));
        }

        TenantRequests.ValidateKeyName(key.Name);
        var (stored, added) = await _commit.ApplyAsync(() => _account.AddConfiguredKey(new StoredApiKey(keyHash, key), ApiKeyHash.NewKeyId));

        // Listed before it is bound, as an issued key is. A revoked one is revoked at its key grain too (again, which
        // is harmless), and that also ends a binding made before configured keys were listed.
        var bound = grainFactory.GetGrain<IApiKeyGrain>(keyHash);
        if (stored.Info.RevokedAt is { } revokedAt)
        {
            await bound.RevokeAsync(revokedAt);
        }
        else
        {
            await bound.BindAsync(stored.Info);
        }

        if (added)
        {
            LogKeyIssued(logger, TenantId, stored.Info.KeyId);
        }

        return stored.Info;
    }

    /// <inheritdoc/>
    /// <remarks>Revoking again re-sends the revocation (repairing a failed one) and keeps the first time.</remarks>
    public async Task<bool> RevokeKeyAsync(string keyId)
    {
        var stored = await _commit.ApplyAsync(() =>
        {
            var (key, revoked) = _account.RevokeKey(keyId);
            if (revoked)
            {
                LogKeyRevoked(logger, TenantId, keyId);
            }

            return key;
        });
        if (stored is null)
        {
            return false;
        }

        await grainFactory.GetGrain<IApiKeyGrain>(stored.Hash).RevokeAsync(stored.Info.RevokedAt!.Value);
        return true;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync()
    {
        _account.RequireTenant();
        return Task.FromResult<IReadOnlyList<ApiKeyInfo>>([.. State.Keys.Select(k => k.Info)]);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<SpendThresholdEvent>> GetSpendEventsAsync()
    {
        _account.RequireTenant();
        return Task.FromResult<IReadOnlyList<SpendThresholdEvent>>([.. State.SpendEvents]);
    }

    /// <inheritdoc/>
    public async Task<IssuedSpendWebhook> SetSpendWebhookAsync(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        var secret = "whsec_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        return await _commit.ApplyAsync(() => _account.SetWebhook(url, secret));
    }

    /// <inheritdoc/>
    public Task<SpendWebhook?> GetSpendWebhookAsync()
    {
        _account.RequireTenant();
        return Task.FromResult(State.Webhook?.Webhook);
    }

    /// <inheritdoc/>
    public Task<bool> RemoveSpendWebhookAsync() => _commit.ApplyAsync(() => _account.RemoveWebhook());

    /// <inheritdoc/>
    public Task<RateLimitSnapshot> GetRateLimitsAsync()
    {
        _account.RequireTenant();
        return Task.FromResult(TenantViews.Limits(State, timeProvider.GetUtcNow()));
    }

    /// <inheritdoc/>
    public Task<TenantUsage> GetUsageAsync()
    {
        _account.RequireTenant();
        return Task.FromResult(TenantViews.Usage(State, timeProvider.GetUtcNow()));
    }

    /// <inheritdoc/>
    public Task<LedgerPage> GetLedgerAsync(long afterSequence, int limit)
    {
        _account.RequireTenant();
        TenantRequests.CheckPageSize(limit);
        return ledger.ReadAsync(TenantId, Math.Max(0, afterSequence), limit);
    }

    /// <inheritdoc/>
    /// <remarks>An unknown cursor yields an empty page.</remarks>
    public Task<IReadOnlyList<string>> ListJobIdsAsync(string? beforeJobId, int limit)
    {
        _account.RequireTenant();
        TenantRequests.CheckPageSize(limit);
        return jobIndex.ListAsync(TenantId, beforeJobId, limit);
    }

    /// <inheritdoc/>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!string.Equals(reminderName, RecoveryReminder, StringComparison.Ordinal))
        {
            return;
        }

        // It ticked, so it is registered, whatever an earlier activation left behind.
        _recoveryArmed = true;
        ArmAllowanceTimer();
        StartPostingWebhooks();
        await SendSubsidiesAsync();
        if (State.Open.Count == 0)
        {
            await SyncRecoveryAsync();
            return;
        }

        // Jobs admitted within the last period are in the middle of starting; the next tick covers them.
        var cutoff = timeProvider.GetUtcNow() - recovery.Value.RecoveryPeriod;
        var woken = 0;
        foreach (var open in State.Open.Values.Where(o => o.AdmittedAt <= cutoff))
        {
            grainFactory.GetGrain<IJobGrain>(open.JobId).RecoverAsync(TenantId, open.Model).Ignore();
            woken++;
        }

        LogRecoveryTick(logger, TenantId, woken, State.Open.Count);
    }

    /// <summary>Starts from the saved state (a new state when the tenant was never saved).</summary>
    private async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        var stored = await store.LoadAsync(TenantId, cancellationToken);
        _account.Reset(stored?.State ?? new TenantState());
        _version = stored?.Version ?? 0;
    }

    /// <summary>
    /// Saves the state with the batch's ledger lines and job ids (one <see cref="ITenantStore.SaveAsync"/>, all or
    /// nothing). When the store refuses it for reserving again for jobs settled long ago, reloads the saved state and
    /// returns false, so the batch is applied again with those job ids refused.
    /// </summary>
    private async Task<bool> SaveAsync(int steps)
    {
        TenantSaveResult saved;
        var started = Stopwatch.GetTimestamp();
        try
        {
            saved = await store.SaveAsync(new TenantSave(TenantId, State, _version, _account.TakeUnsavedLines(), _account.TakeUnsavedJobIds()));
        }
        catch
        {
            instruments.OnTenantSave(Stopwatch.GetElapsedTime(started), steps, "failed");
            throw;
        }

        instruments.OnTenantSave(Stopwatch.GetElapsedTime(started), steps, saved.Saved ? "saved" : "refused");
        if (!saved.Saved)
        {
            LogReserveRefused(logger, TenantId, string.Join(", ", saved.AlreadyReserved));
            _account.RefuseSettledLongAgo(saved.AlreadyReserved);
            await LoadAsync();
            return false;
        }

        _version = saved.Version;
        instruments.OnTenantBudget(
            TenantId, State.Info?.Budget.PeriodQuota ?? 0, State.Charged, State.Reserved, State.SpendCharged, State.Info?.Budget.SpendCap?.Micros ?? 0, State.SpendCapReached);
        return true;
    }

    /// <summary>
    /// A refusal by the spend cap decided before the account (while pricing) may show the cap reached: recorded and
    /// saved in a step of its own, once per period (<see cref="TenantAccount.RefusedBySpendCap"/>).
    /// </summary>
    private async Task NoteSpendCapRefusalAsync(Refusal refusal)
    {
        if (refusal.Reason == AdmissionRejection.SpendCapReached && !State.SpendCapReached
            && await _commit.ApplyAsync(() => _account.RefusedBySpendCap(refusal)))
        {
            StartPostingWebhooks();
        }
    }

    private Exception Unsaved(Exception cause) => StorageFailedException.For(cause, $"Tenant '{TenantId}' could not save its state");

    /// <summary>
    /// Applies an admission decision, and gives back what subsidy programs reserved for its jobs when it is refused
    /// (or refused as a repeat of a job settled long ago). An admission that may or may not have been saved keeps the
    /// reservations: the program's leak repair asks <see cref="HoldsJobAsync"/>.
    /// </summary>
    private async Task<AdmissionDecision> DecideAsync(IReadOnlyList<(string JobId, JobPrice? Price)> jobs, Func<AdmissionDecision> decide)
    {
        try
        {
            var decision = await _commit.ApplyAsync(decide);
            if (decision.Refusal is not null)
            {
                ReleaseAll(jobs);
            }

            return decision;
        }
        catch (JobAlreadySettledException)
        {
            ReleaseAll(jobs);
            throw;
        }
    }

    private void ReleaseAll(IEnumerable<(string JobId, JobPrice? Price)> jobs)
    {
        foreach (var (jobId, price) in jobs)
        {
            _pricing.Release(jobId, price);
        }
    }

    /// <summary>Saves a block a subsidy program granted, and watches it for idleness from then on.</summary>
    private async Task KeepAllowanceAsync(SubsidyAllowance allowance)
    {
        await _commit.ApplyAsync(() => _account.KeepAllowance(allowance));
        ArmAllowanceTimer();
    }

    private void ArmAllowanceTimer()
    {
        if (_allowanceTimer is null && State.Allowances.Count > 0)
        {
            var period = SubsidyAllowances.Linger;
            _allowanceTimer = this.RegisterGrainTimer(ReturnIdleAllowancesAsync, new GrainTimerCreationOptions(period, period));
        }
    }

    /// <summary>Returns the allowances that stayed idle, and stops watching once the tenant keeps none.</summary>
    private async Task ReturnIdleAllowancesAsync(CancellationToken cancellationToken)
    {
        if (_account.Allowances.AnyIdle)
        {
            await _commit.ApplyAsync(() => _account.ReturnIdleAllowances());
            StartSendingSubsidies();
        }

        if (State.Allowances.Count == 0)
        {
            _allowanceTimer?.Dispose();
            _allowanceTimer = null;
        }
    }

    /// <summary>Starts posting pending spend events to the tenant's webhook, unless a post is under way (it goes on to these).</summary>
    private void StartPostingWebhooks()
    {
        if (State.PendingWebhookEvents.Count > 0 && _webhookSend is not { IsCompleted: false } && timeProvider.GetUtcNow() >= _webhookRetryAt
            && ServiceProvider.GetService<ISpendWebhookSender>() is { } sender)
        {
            _webhookSend = PostWebhooksAsync(sender);
        }
    }

    /// <summary>
    /// Posts each pending event, oldest first, until none is left or the receiver fails one: then it is tried again after
    /// 1, 2, 4 ... up to 64 seconds (a timer, or the next settlement or recovery tick once that time has passed), so a
    /// receiver that is down is not hammered. At least once: each event carries its id for the receiver to drop a repeat.
    /// </summary>
    private async Task PostWebhooksAsync(ISpendWebhookSender sender)
    {
        while (_account.WebhookDue() is { } due)
        {
            var (webhook, events) = due;
            foreach (var raised in events)
            {
                try
                {
                    await sender.SendAsync(TenantId, webhook.Webhook.Url, webhook.Secret, raised, CancellationToken.None);
                }
                catch (Exception e)
                {
                    // Nothing cancels the post, so any exception (a timeout included) is the receiver's failure. The tenant's
                    // receiver is not the operator's to fix: a warning when a run of failures begins, then one line per retry.
                    if (_webhookFailures == 0)
                    {
                        LogWebhookFailed(logger, e, TenantId, raised.Id);
                    }
                    else
                    {
                        LogWebhookFailedAgain(logger, TenantId, raised.Id, _webhookFailures + 1, e.Message);
                    }

                    var delay = TimeSpan.FromSeconds(1 << Math.Min(_webhookFailures++, 6));
                    _webhookRetryAt = timeProvider.GetUtcNow() + delay;
                    _webhookRetry?.Dispose();
                    _webhookRetry = this.RegisterGrainTimer(
                        () => { StartPostingWebhooks(); return Task.CompletedTask; }, new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan));
                    await SyncRecoveryAsync();
                    return;
                }

                _webhookFailures = 0;
                _account.WebhookSent(webhook, raised.Id);
            }
        }

        await SyncRecoveryAsync();
    }

    /// <summary>Starts telling subsidy programs what settled jobs cost them, unless a send is under way (it goes on to these).</summary>
    private void StartSendingSubsidies()
    {
        if (State.PendingSubsidies.Count > 0 && _subsidySend is not { IsCompleted: false })
        {
            _subsidySend = SendSubsidiesAsync();
        }
    }

    /// <summary>
    /// Tells subsidy programs what settled jobs cost them, until none is pending or a program cannot be reached (the
    /// recovery reminder tries again); what they have is forgotten with the next save.
    /// </summary>
    private async Task SendSubsidiesAsync()
    {
        while (State.PendingSubsidies.Count > 0)
        {
            var pending = State.PendingSubsidies.ToList();
            var sent = await _pricing.SendAsync(pending);
            foreach (var jobId in sent)
            {
                _account.SubsidySent(jobId);
            }

            if (sent.Count < pending.Count)
            {
                break;
            }
        }

        await SyncRecoveryAsync();
    }

    /// <summary>
    /// Counts (once per job: <paramref name="jobs"/> for a group's choices) and logs <paramref name="decision"/>'s refusal,
    /// if any, and returns it.
    /// </summary>
    private AdmissionDecision Rejected(AdmissionRequest request, AdmissionDecision decision, int jobs = 1)
    {
        if (decision.Refusal is { } refusal)
        {
            for (var i = 0; i < jobs; i++)
            {
                instruments.OnRejected(request.Model, refusal.Reason.ToCode());
            }

            LogRejected(logger, TenantId, request.JobId, request.Model, refusal.Reason);
        }

        return decision;
    }

    /// <summary>
    /// Makes the reminder exist exactly while the tenant has open jobs (where the silo has a reminder service), and
    /// returns once it does. One reconciliation runs at a time and every caller joins it: a burst of admissions
    /// registers the reminder once, and an admission arriving while an idle tick unregisters it waits for the
    /// reminder to be registered again rather than trusting a registration about to disappear.
    /// </summary>
    private Task SyncRecoveryAsync()
    {
        if (ServiceProvider.GetService<IReminderRegistry>() is null)
        {
            return Task.CompletedTask;
        }

        return _recoverySync is { IsCompleted: false } running ? running : _recoverySync = ReconcileRecoveryAsync();
    }

    /// <summary>Registers or unregisters until the reminder matches the open jobs, checking again after every await.</summary>
    private async Task ReconcileRecoveryAsync()
    {
        try
        {
            bool wanted;
            while (_recoveryArmed != (wanted = State.Open.Count > 0 || State.PendingSubsidies.Count > 0 || State.Allowances.Count > 0
                || State.PendingWebhookEvents.Count > 0))
            {
                if (wanted)
                {
                    var period = recovery.Value.RecoveryPeriod;
                    await this.RegisterOrUpdateReminder(RecoveryReminder, period, period);
                }
                else if (_recoveryArmed is true && await this.GetReminder(RecoveryReminder) is { } reminder)
                {
                    await this.UnregisterReminder(reminder);
                }

                _recoveryArmed = wanted;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Tried again by the next admission or tick; the job's own recovery paths still work meanwhile.
            LogRecoveryReminderFailed(logger, e, TenantId);
        }
    }
}
