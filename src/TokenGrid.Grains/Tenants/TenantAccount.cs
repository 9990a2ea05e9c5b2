using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing;
using TokenGrid.Grains.Ledger;

namespace TokenGrid.Grains.Tenants;

/// <summary>A decided admission: the answer, whether it opened reservations, and the refusal when it was refused.</summary>
internal readonly record struct AdmissionDecision(AdmissionResult Result, bool Admitted, Refusal? Refusal);

/// <summary>
/// A tenant's state and every change to it: budget, admissions (reservations, concurrency, period quota), settlements
/// and keys. Each method is one decision on the state the previous one left; the caller runs them one at a time, in
/// arrival order, and saves the state with <see cref="TakeUnsavedLines"/> and <see cref="TakeUnsavedJobIds"/>.
/// Nothing here awaits, logs or saves.
/// </summary>
/// <param name="tenantId">The tenant.</param>
/// <param name="timeProvider">The clock every decision reads.</param>
/// <param name="periodReset">Told the new period's start and the charged tokens it cleared, when a period starts over.</param>
/// <param name="onSpendThreshold">Told each spend threshold (percent of the cap) raised.</param>
internal sealed class TenantAccount(
    string tenantId, TimeProvider timeProvider, Action<DateTimeOffset, long> periodReset, Action<int>? onSpendThreshold = null)
{
    /// <summary>Job ids seen for the first time since the last save, in arrival order.</summary>
    private readonly List<string> _unsavedJobIds = [];

    /// <summary>Job ids the store refused to reserve for again (settled before the state's window).</summary>
    private readonly HashSet<string> _settledLongAgo = new(StringComparer.Ordinal);

    /// <summary>How long the latest jobs ran, for the wait a concurrency refusal quotes.</summary>
    private readonly JobDurations _durations = new();

    /// <summary>The state as the applied changes left it.</summary>
    public TenantState State { get; private set; } = new();

    /// <summary>The state's subsidy allowances and what is held on them.</summary>
    public SubsidyAllowances Allowances { get; } = new(timeProvider);

    /// <summary>The tenant, or <see cref="TenantNotFoundException"/> when it does not exist.</summary>
    public TenantInfo RequireTenant() => State.Info ?? throw new TenantNotFoundException(tenantId);

    /// <summary>Starts over from <paramref name="state"/> (the saved one); unsaved job ids are dropped with the old state.</summary>
    public void Reset(TenantState state)
    {
        State = state;
        _unsavedJobIds.Clear();
        Allowances.Reset(state);
    }

    /// <summary>Refuses from now on to reserve for <paramref name="jobIds"/>, which the store says were settled long ago.</summary>
    public void RefuseSettledLongAgo(IEnumerable<string> jobIds) => _settledLongAgo.UnionWith(jobIds);

    /// <summary>The ledger lines added since the last call.</summary>
    public List<LedgerEntry> TakeUnsavedLines() => Take(State.UnsavedLines);

    /// <summary>The job ids seen for the first time since the last call.</summary>
    public List<string> TakeUnsavedJobIds() => Take(_unsavedJobIds);

    /// <summary>Creates the tenant with full buckets and the current period.</summary>
    public TenantInfo Create(TenantSpec spec)
    {
        if (State.Info is not null)
        {
            throw new TenantExistsException(tenantId);
        }

        var now = timeProvider.GetUtcNow();
        var budget = spec.Budget;
        State.Info = new TenantInfo(tenantId, spec.Name.Trim(), budget, spec.Enabled, now, now);
        State.Tokens = TokenBucket.Full(budget.TokensPerMinute, now);
        State.Requests = TokenBucket.Full(budget.RequestsPerMinute, now);
        State.PeriodStart = QuotaPeriods.StartOf(budget.Period, now);
        return State.Info;
    }

    /// <summary>Changes name, budget and switch; bucket levels are kept within the new capacities.</summary>
    public TenantInfo Update(TenantSpec spec)
    {
        var info = RequireLive();
        var now = timeProvider.GetUtcNow();

        // Settle the buckets and the period under the old budget, then keep the levels within the new capacities.
        CatchUp(now);
        var budget = spec.Budget;
        State.Tokens.Clamp(budget.TokensPerMinute);
        State.Requests.Clamp(budget.RequestsPerMinute);
        if (budget.SpendCap != info.Budget.SpendCap)
        {
            // A cap reached by a refusal is the old cap's; under the new one it is reached once charges reach it, or
            // the next refusal says so.
            State.SpendCapReached = budget.SpendCap is { Micros: > 0 } cap && State.SpendCharged >= cap.Micros;
        }

        State.Info = info with { Name = spec.Name.Trim(), Budget = budget, Enabled = spec.Enabled, UpdatedAt = now };
        return State.Info;
    }

    /// <summary>The refusal of <paramref name="request"/> by a tenant that does not exist (nothing to change or save).</summary>
    public AdmissionDecision RefuseMissing(AdmissionRequest request, int jobs = 1)
    {
        var now = timeProvider.GetUtcNow();
        var refusal = AdmissionPolicy.Check(State, request, now, jobs)!.Value;
        return new(Answer(refusal, 0, now), false, refusal);
    }

    /// <summary>
    /// Admits one job or refuses it. One job id reserves once: a repeat while open gets the same answer, a repeat after
    /// settlement throws <see cref="JobAlreadySettledException"/>.
    /// </summary>
    /// <remarks><paramref name="price"/> is the job's price when the rate card prices its model (null: unpriced).</remarks>
    public AdmissionDecision Admit(AdmissionRequest request, JobPrice? price = null)
    {
        if (Repeat(request.JobId) is { } repeat)
        {
            return repeat;
        }

        var now = timeProvider.GetUtcNow();
        if (WasSettled(request.JobId))
        {
            throw new JobAlreadySettledException(tenantId, request.JobId);
        }

        _unsavedJobIds.Add(request.JobId);
        CatchUp(now);
        if (AdmissionPolicy.Check(State, request, now, spend: price?.MaxTenant ?? Money.Zero, currency: price?.Quote.Currency, durations: _durations) is { } refusal)
        {
            RefusedBySpendCap(refusal);
            return new(Answer(refusal, 0, now), false, refusal);
        }

        var reservation = request.Reservation;
        State.Requests.Take(1);
        State.Tokens.Take(reservation);
        LedgerBook.Reserve(State, tenantId, new OpenReservation(request.JobId, request.Model, reservation, request.PromptTokens, now, price));
        Allowances.Admitted(request.JobId);
        TallyOf(request.Model).Requests++;
        return new(WithPlacement(Answer(null, reservation, now), price, request), true, null);
    }

    /// <summary>
    /// Admits a group of jobs of one model or refuses it: one check of <paramref name="combined"/> (the summed
    /// reservation), then one reservation per job. The jobs of a group are reserved together, so all or none are open.
    /// </summary>
    /// <remarks><paramref name="prices"/> holds each job's price, in the order of <paramref name="requests"/> (null: unpriced).</remarks>
    public AdmissionDecision AdmitGroup(IReadOnlyList<AdmissionRequest> requests, AdmissionRequest combined, IReadOnlyList<JobPrice?>? prices = null)
    {
        if (RepeatGroup(requests) is { } repeat)
        {
            return repeat;
        }

        var now = timeProvider.GetUtcNow();
        if (requests.FirstOrDefault(r => WasSettled(r.JobId)) is { } settled)
        {
            throw new JobAlreadySettledException(tenantId, settled.JobId);
        }

        CatchUp(now);
        var spend = prices?.Aggregate(Money.Zero, (sum, p) => sum + (p?.MaxTenant ?? Money.Zero)) ?? Money.Zero;
        var currency = prices?.FirstOrDefault(p => p is not null)?.Quote.Currency;
        if (AdmissionPolicy.Check(State, combined, now, requests.Count, spend, currency, _durations) is { } refusal)
        {
            // Refused before any of its jobs exists, so none is listed among the tenant's jobs.
            RefusedBySpendCap(refusal);
            return new(Answer(refusal, 0, now), false, refusal);
        }

        _unsavedJobIds.AddRange(requests.Select(r => r.JobId));

        State.Requests.Take(1);
        State.Tokens.Take(combined.Reservation);
        for (var i = 0; i < requests.Count; i++)
        {
            var request = requests[i];
            LedgerBook.Reserve(State, tenantId, new OpenReservation(request.JobId, request.Model, request.Reservation, request.PromptTokens, now, prices?[i]));
            Allowances.Admitted(request.JobId);
            TallyOf(request.Model).Requests++;
        }

        return new(WithPlacement(Answer(null, combined.Reservation, now), prices?[0], requests[0]), true, null);
    }

    /// <summary>
    /// The answer to a repeat of an open job's admission, the one the first admission gave (admitted, its reservation and
    /// what placement needs), or null when the job is not open. Nothing is checked or reserved again, and a subsidy hold
    /// taken for the repeat is given back: the first admission's stands.
    /// </summary>
    public AdmissionDecision? Repeat(string jobId)
    {
        if (!State.Open.TryGetValue(jobId, out var open))
        {
            return null;
        }

        Allowances.Release(jobId);
        var first = new AdmissionRequest(jobId, open.Model, open.PromptTokens, (int)(open.Tokens - open.PromptTokens));
        return new(WithPlacement(Answer(null, open.Tokens, timeProvider.GetUtcNow()), open.Price, first), false, null);
    }

    /// <summary>
    /// The answer to a repeat of a group's admission (<see cref="Repeat"/> for a group), the sum of what its open jobs
    /// reserve, or null when none of them is open.
    /// </summary>
    public AdmissionDecision? RepeatGroup(IReadOnlyList<AdmissionRequest> requests)
    {
        var open = requests.Where(r => State.Open.ContainsKey(r.JobId)).ToList();
        if (open.Count == 0)
        {
            return null;
        }

        var answers = open.Select(r => Repeat(r.JobId)!.Value.Result).ToList();
        return new(answers[0] with { Reserved = answers.Sum(a => a.Reserved) }, false, null);
    }

    /// <summary>Whether the job is admitted and not yet settled.</summary>
    public bool IsOpen(string jobId) => State.Open.ContainsKey(jobId);

    /// <summary>Whether the job is open or among the recent settlements (the state's window).</summary>
    public bool Holds(string jobId) => State.Open.ContainsKey(jobId) || FindSettlement(jobId) is not null;

    /// <summary>
    /// Charges an open job's tokens and refunds the rest of its reservation; a repeat returns the first result with
    /// <see cref="Settlement.AlreadySettled"/> set. The job must be <see cref="Holds">held</see>.
    /// </summary>
    public Settlement Settle(SettlementRequest request)
    {
        if (FindSettlement(request.JobId) is { } done)
        {
            return done with { AlreadySettled = true };
        }

        var reservation = State.Open[request.JobId];
        var now = timeProvider.GetUtcNow();
        if (request.Outcome is JobOutcome.Completed or JobOutcome.TimedOut)
        {
            _durations.Add(now - reservation.AdmittedAt);
        }

        CatchUp(now);
        var (charged, refunded, prompt, priced) = LedgerBook.Settle(
            State, tenantId, now, reservation, request.PromptTokens, request.CompletionTokens, request.Place, request.CachedPromptTokens);
        State.Tokens.Give(refunded, State.Info!.Budget.TokensPerMinute);
        if (reservation.Price is { AllowanceId: { } allowance, SubsidyGranted: var held })
        {
            // Drawn on an allowance: the program learns what it paid when the allowance is returned.
            Allowances.Settled(allowance, held, priced!.Subsidy);
        }
        else if (reservation.Price is { ProgramId: { } program, SubsidyGranted.Micros: > 0 })
        {
            // The program's reservation ends with the job: it is told what it paid (perhaps nothing) after the save.
            State.PendingSubsidies.Add(new PendingSubsidy(request.JobId, program, priced!.Subsidy));
        }

        if (priced is not null)
        {
            RaiseSpendThresholds(now, priced.Currency);
        }

        var tally = TallyOf(reservation.Model);
        tally.PromptTokens += prompt;
        tally.CompletionTokens += charged - prompt;

        var settlement = new Settlement(request.JobId, reservation.Tokens, charged, refunded, AlreadySettled: false);
        State.Settled.Add(settlement);
        if (State.Settled.Count > TenantState.SettledWindow)
        {
            State.Settled.RemoveAt(0);
        }

        return settlement;
    }

    /// <summary>The answer for <paramref name="refusal"/>, decided outside the account (nothing changes).</summary>
    public AdmissionDecision Refuse(Refusal refusal) => new(Answer(refusal, 0, timeProvider.GetUtcNow()), false, refusal);

    /// <summary>
    /// The spend cap's refusal of a request that would cost the tenant at least <paramref name="leastSpend"/>, decided
    /// before anything is reserved for it (null: it may fit, or the period is about to start over and the account
    /// decides). Keeps a request the cap refuses anyway from holding a subsidy program's budget meanwhile. <paramref name="now"/>:
    /// the pricing's reading of the clock.
    /// </summary>
    public Refusal? SpendCapPrecheck(Money leastSpend, string currency, DateTimeOffset now) =>
        State.Info is not { } info || QuotaPeriods.StartOf(info.Budget.Period, now) > State.PeriodStart
            ? null
            : AdmissionPolicy.SpendCheck(State, info.Budget, leastSpend, currency, now);

    /// <summary>Sets the spend webhook with <paramref name="secret"/> (the tenant must exist).</summary>
    public IssuedSpendWebhook SetWebhook(string url, string secret)
    {
        RequireLive();
        var webhook = new SpendWebhook(url, timeProvider.GetUtcNow());
        State.Webhook = new StoredSpendWebhook(webhook, secret);
        return new IssuedSpendWebhook(webhook, secret);
    }

    /// <summary>Removes the spend webhook and drops what it had still to post; false when there was none.</summary>
    public bool RemoveWebhook()
    {
        RequireTenant();
        var had = State.Webhook is not null;
        State.Webhook = null;
        State.PendingWebhookEvents.Clear();
        return had;
    }

    /// <summary>
    /// The events still to post and where, dropping any that the state no longer keeps (more than a window raised since).
    /// </summary>
    public (StoredSpendWebhook Webhook, List<SpendThresholdEvent> Events)? WebhookDue()
    {
        if (State.Webhook is not { } webhook || State.PendingWebhookEvents.Count == 0)
        {
            return null;
        }

        State.PendingWebhookEvents.RemoveAll(id => !State.SpendEvents.Exists(e => e.Id == id));
        return (webhook, [.. State.PendingWebhookEvents.Select(id => State.SpendEvents.Find(e => e.Id == id)!)]);
    }

    /// <summary>Forgets <paramref name="eventId"/> once posted to <paramref name="webhook"/> (saved with the next change).</summary>
    public void WebhookSent(StoredSpendWebhook webhook, string eventId)
    {
        if (ReferenceEquals(State.Webhook, webhook))
        {
            State.PendingWebhookEvents.Remove(eventId);
        }
    }

    /// <summary>Keeps a block a subsidy program granted (see <see cref="SubsidyAllowances.Keep"/>).</summary>
    public void KeepAllowance(SubsidyAllowance allowance) => Allowances.Keep(allowance);

    /// <summary>Returns the allowances nothing is held on (see <see cref="SubsidyAllowances.ReturnIdle"/>).</summary>
    public int ReturnIdleAllowances() => Allowances.ReturnIdle();

    /// <summary>Forgets the pending subsidy of <paramref name="jobId"/> once its program has it (saved with the next change).</summary>
    public void SubsidySent(string jobId) => State.PendingSubsidies.RemoveAll(p => p.JobId == jobId);

    /// <summary>Lists a new key (the tenant must exist).</summary>
    public void AddKey(StoredApiKey key)
    {
        RequireLive();
        State.Keys.Add(key);
    }

    /// <summary>
    /// Lists a key whose secret is kept outside (see <see cref="ITenantGrain.AddConfiguredKeyAsync"/>) once: the key
    /// listed under its hash already is returned as it is. A new one takes <paramref name="newKeyId"/>'s id when its own
    /// is taken, and is listed revoked by a deleted tenant, whose deletion revoked every key. The key as listed, and
    /// whether this call listed it.
    /// </summary>
    public (StoredApiKey Key, bool Added) AddConfiguredKey(StoredApiKey key, Func<string> newKeyId)
    {
        var info = RequireTenant();
        if (State.Keys.Find(k => k.Hash == key.Hash) is { } listed)
        {
            return (listed, false);
        }

        var id = State.Keys.Exists(k => k.Info.KeyId == key.Info.KeyId) ? newKeyId() : key.Info.KeyId;
        var revoked = info.DeletedAt is null ? (DateTimeOffset?)null : timeProvider.GetUtcNow();
        var added = key with { Info = key.Info with { KeyId = id, TenantId = tenantId, RevokedAt = revoked } };
        State.Keys.Add(added);
        return (added, true);
    }

    /// <summary>
    /// Marks the tenant deleted and disabled for good (the first deletion's time is kept); its buckets, ledger and keys
    /// stay as they are (the caller revokes the keys).
    /// </summary>
    public TenantInfo Delete()
    {
        var info = RequireTenant();
        if (info.DeletedAt is null)
        {
            var now = timeProvider.GetUtcNow();
            State.Info = info with { Enabled = false, DeletedAt = now, UpdatedAt = now };
        }

        return State.Info!;
    }

    /// <summary>The tenant, which must exist and not be deleted.</summary>
    private TenantInfo RequireLive()
    {
        var info = RequireTenant();
        return info.DeletedAt is { } deleted ? throw new TenantDeletedException(tenantId, deleted) : info;
    }

    /// <summary>
    /// Revokes a key, keeping the first revocation time: the key as now stored (null when unknown), and whether this call
    /// revoked it.
    /// </summary>
    public (StoredApiKey? Key, bool Revoked) RevokeKey(string keyId)
    {
        var index = State.Keys.FindIndex(k => k.Info.KeyId == keyId);
        if (index < 0 || State.Keys[index].Info.RevokedAt is not null)
        {
            return (index < 0 ? null : State.Keys[index], false);
        }

        State.Keys[index] = State.Keys[index] with { Info = State.Keys[index].Info with { RevokedAt = timeProvider.GetUtcNow() } };
        return (State.Keys[index], true);
    }

    /// <summary>The spend thresholds, in percent of the cap, that raise an event once per period.</summary>
    public static readonly int[] SpendThresholds = [50, 80, 100];

    /// <summary>The last threshold: the cap is reached.</summary>
    private const int CapReachedPercent = 100;

    /// <summary>
    /// The least share of the cap charged for a refusal to count as the cap reached: below it, a request refused for its
    /// size is only too large for what is left, and smaller ones still fit.
    /// </summary>
    private const int NearlyReachedPercent = 95;

    /// <summary>
    /// Whether <paramref name="refusal"/>, by the spend cap, shows the cap reached, and if so records it: the 100 % event
    /// (once per period) and <see cref="TenantState.SpendCapReached"/>. Admission holds each request's most possible
    /// cost, so the charged spend stops short of the cap: the cap counts as reached at the first request it refuses
    /// because what is charged alone leaves less than the request may cost, with nothing else held (held requests may
    /// still settle for less and leave room), the request within the whole cap (one over it is refused at any spend), and
    /// at least <see cref="NearlyReachedPercent"/> % of the cap charged (one large request refused at 10 % reaches nothing).
    /// True when it changed the state (to be saved).
    /// </summary>
    public bool RefusedBySpendCap(Refusal refusal)
    {
        if (refusal is not { Reason: AdmissionRejection.SpendCapReached, Spend: { } spend, Currency: { } currency } || State.Info is null)
        {
            return false;
        }

        var now = timeProvider.GetUtcNow();
        CatchUp(now);
        if (State.SpendCapReached || State.SpendReserved > 0
            || State.Info?.Budget.SpendCap is not { Micros: > 0 } cap || spend > cap || State.SpendCharged + spend.Micros <= cap.Micros
            || (decimal)State.SpendCharged * 100 < (decimal)cap.Micros * NearlyReachedPercent)
        {
            return false;
        }

        State.SpendCapReached = true;
        if (State.SpendPercentRaised < CapReachedPercent)
        {
            // The thresholds below it that were not raised are not raised later: the cap is reached.
            Raise(CapReachedPercent, now, currency, cap);
        }

        return true;
    }

    /// <summary>Raises an event for each threshold of the spend cap the period's charged spend has reached since the last.</summary>
    private void RaiseSpendThresholds(DateTimeOffset now, string currency)
    {
        if (State.Info!.Budget.SpendCap is not { Micros: > 0 } cap)
        {
            return;
        }

        if (State.SpendCharged >= cap.Micros)
        {
            State.SpendCapReached = true;
        }

        foreach (var percent in SpendThresholds)
        {
            if (percent > State.SpendPercentRaised && (Int128)State.SpendCharged * 100 >= (Int128)cap.Micros * percent)
            {
                Raise(percent, now, currency, cap);
            }
        }
    }

    private void Raise(int percent, DateTimeOffset now, string currency, Money cap)
    {
        State.SpendPercentRaised = percent;
        var raised = new SpendThresholdEvent(
            $"spend-{State.PeriodStart:yyyyMMdd}-{percent}", now, State.PeriodStart, percent, new Money(State.SpendCharged), cap, currency);
        State.SpendEvents.Add(raised);
        if (State.Webhook is not null)
        {
            State.PendingWebhookEvents.Add(raised.Id);
        }

        onSpendThreshold?.Invoke(percent);
        if (State.SpendEvents.Count > TenantState.SpendEventWindow)
        {
            State.SpendEvents.RemoveRange(0, State.SpendEvents.Count - TenantState.SpendEventWindow);
        }
    }

    /// <summary>Brings the period and both buckets up to <paramref name="now"/>.</summary>
    private void CatchUp(DateTimeOffset now)
    {
        var budget = State.Info!.Budget;
        var cleared = State.Charged;
        if (LedgerBook.RollPeriod(State, tenantId, now))
        {
            periodReset(State.PeriodStart, cleared);
        }

        State.Tokens.Refill(budget.TokensPerMinute, now);
        State.Requests.Refill(budget.RequestsPerMinute, now);
    }

    /// <summary><paramref name="answer"/> with what cost-aware placement needs, when the tenant prefers the cheapest region.</summary>
    private AdmissionResult WithPlacement(AdmissionResult answer, JobPrice? price, AdmissionRequest request) =>
        price is null || State.Info!.Budget is not { Placement: PlacementPreference.Cheapest } budget ? answer : answer with
        {
            RegionCosts = JobCost.RegionCosts(price, request.PromptTokens, request.MaxCompletionTokens),
            CheapestMaxExtraWait = budget.CheapestMaxExtraWait,
        };

    private AdmissionResult Answer(Refusal? refusal, long reserved, DateTimeOffset now)
    {
        var budget = State.Info?.Budget ?? new TenantBudget();
        return new AdmissionResult(
            refusal is null, refusal?.Reason, refusal?.Message, refusal?.RetryAfter,
            TenantViews.Limits(State, now), reserved, budget.Priority, budget.Weight)
        {
            RequiredLabels = budget.RequiredLabels,
            PrefixCacheScope = PrefixCacheScopes.For(State.Info?.Id ?? "", budget.PrefixCacheScope),
        };
    }

    private bool WasSettled(string jobId) => FindSettlement(jobId) is not null || _settledLongAgo.Contains(jobId);

    private Settlement? FindSettlement(string jobId) => State.Settled.Find(s => s.JobId == jobId);

    private ModelTally TallyOf(string model)
    {
        if (!State.Models.TryGetValue(model, out var tally))
        {
            State.Models[model] = tally = new ModelTally();
        }

        return tally;
    }

    private static List<T> Take<T>(List<T> unsaved)
    {
        var taken = unsaved.ToList();
        unsaved.Clear();
        return taken;
    }
}
