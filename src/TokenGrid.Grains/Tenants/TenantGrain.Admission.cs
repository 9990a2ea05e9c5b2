using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

public sealed partial class TenantGrain
{
    /// <inheritdoc/>
    public async Task<AdmissionResult> AdmitAsync(AdmissionRequest request)
    {
        Validate(request);
        var now = timeProvider.GetUtcNow();
        if (State.Info is null)
        {
            // Nothing is saved for a tenant that does not exist.
            return Reject(request, AdmissionPolicy.Check(State, request, now)!.Value, now);
        }

        // One job id reserves once: a repeat while open gets the same answer, a repeat after settlement is an error
        // (from the state's window of recent settlements, or from the store, which refuses a second reserve line).
        var (result, admitted) = await ApplyAsync(() => Decide(request));
        if (admitted)
        {
            await SyncRecoveryAsync();
            instruments.OnAdmitted(request.Model);
            LogAdmitted(logger, TenantId, request.JobId, request.Model, result.Reserved);
        }

        return result;
    }

    /// <summary>The admission decision, on the state as the steps before it left it.</summary>
    private (AdmissionResult Result, bool Admitted) Decide(AdmissionRequest request)
    {
        var now = timeProvider.GetUtcNow();

        if (State.Open.TryGetValue(request.JobId, out var open))
        {
            return (Result(null, open.Tokens, now), false);
        }

        if (FindSettlement(request.JobId) is not null || _settledLongAgo.Contains(request.JobId))
        {
            throw new JobAlreadySettledException(TenantId, request.JobId);
        }

        _unsavedJobIds.Add(request.JobId);
        CatchUp(now);
        if (AdmissionPolicy.Check(State, request, now) is { } refusal)
        {
            return (Reject(request, refusal, now), false);
        }

        var reservation = request.Reservation;
        State.Requests.Take(1);
        State.Tokens.Take(reservation);
        LedgerBook.Reserve(State, TenantId, new OpenReservation(request.JobId, request.Model, reservation, request.PromptTokens, now));
        TallyOf(request.Model).Requests++;
        return (Result(null, reservation, now), true);
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
            Validate(request);
        }

        var combined = Combined(requests);
        var now = timeProvider.GetUtcNow();
        if (State.Info is null)
        {
            return Reject(combined, AdmissionPolicy.Check(State, combined, now, requests.Count)!.Value, now);
        }

        var (result, admitted) = await ApplyAsync(() => DecideGroup(requests, combined));
        if (admitted)
        {
            await SyncRecoveryAsync();
            foreach (var request in requests)
            {
                instruments.OnAdmitted(request.Model);
                LogAdmitted(logger, TenantId, request.JobId, request.Model, request.Reservation);
            }
        }

        return result;
    }

    /// <summary>The group's admission decision: one check of the summed reservation, then one reservation per job.</summary>
    private (AdmissionResult Result, bool Admitted) DecideGroup(IReadOnlyList<AdmissionRequest> requests, AdmissionRequest combined)
    {
        var now = timeProvider.GetUtcNow();
        var open = requests.Count(r => State.Open.ContainsKey(r.JobId));
        if (open > 0)
        {
            // A repeat of an admitted group (the jobs of a group are reserved together, so all of them or none are open).
            return (Result(null, requests.Sum(r => State.Open.TryGetValue(r.JobId, out var o) ? o.Tokens : 0), now), false);
        }

        if (requests.FirstOrDefault(r => FindSettlement(r.JobId) is not null || _settledLongAgo.Contains(r.JobId)) is { } settled)
        {
            throw new JobAlreadySettledException(TenantId, settled.JobId);
        }

        CatchUp(now);
        if (AdmissionPolicy.Check(State, combined, now, requests.Count) is { } refusal)
        {
            // Refused before any of its jobs exists, so none is listed among the tenant's jobs.
            return (Reject(combined, refusal, now), false);
        }

        _unsavedJobIds.AddRange(requests.Select(r => r.JobId));

        State.Requests.Take(1);
        State.Tokens.Take(combined.Reservation);
        foreach (var request in requests)
        {
            LedgerBook.Reserve(State, TenantId, new OpenReservation(request.JobId, request.Model, request.Reservation, request.PromptTokens, now));
            TallyOf(request.Model).Requests++;
        }

        return (Result(null, combined.Reservation, now), true);
    }

    /// <summary>A group as one request: the first job's id, the summed prompt and completion tokens.</summary>
    private static AdmissionRequest Combined(IReadOnlyList<AdmissionRequest> requests) => new(
        requests[0].JobId, requests[0].Model, requests.Sum(r => r.PromptTokens), requests.Sum(r => r.MaxCompletionTokens));

    /// <summary>
    /// Charges a job's tokens and refunds the rest of its reservation. Idempotent: a repeat returns the first result
    /// with <see cref="Settlement.AlreadySettled"/> set (from the state's window of recent settlements, or rebuilt from
    /// the ledger for older ones). A job id that was never admitted returns zeros and logs a warning: there is nothing
    /// to charge, and failing would not help the caller.
    /// </summary>
    public async Task<Settlement> SettleAsync(SettlementRequest request)
    {
        Validate(request);
        if (!State.Open.ContainsKey(request.JobId) && FindSettlement(request.JobId) is null)
        {
            if (await FindSettlementInLedgerAsync(request.JobId) is { } old)
            {
                return old;
            }

            LogSettledUnknownJob(logger, TenantId, request.JobId);
            return new Settlement(request.JobId, 0, 0, 0, AlreadySettled: false);
        }

        // A repeat is answered from the same queue, so it never reports a settlement that is not saved yet.
        var settlement = await ApplyAsync(() => Charge(request));
        if (!settlement.AlreadySettled)
        {
            LogSettled(logger, TenantId, request.JobId, request.Outcome, settlement.Charged, settlement.Refunded);
        }

        return settlement;
    }

    /// <summary>The settlement, on the state as the steps before it left it.</summary>
    private Settlement Charge(SettlementRequest request)
    {
        if (FindSettlement(request.JobId) is { } done)
        {
            return done with { AlreadySettled = true };
        }

        var reservation = State.Open[request.JobId];
        var now = timeProvider.GetUtcNow();
        CatchUp(now);
        var (charged, refunded, prompt) = LedgerBook.Settle(State, TenantId, now, reservation, request.PromptTokens, request.CompletionTokens);
        State.Tokens.Give(refunded, State.Info!.Budget.TokensPerMinute);

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

    private AdmissionResult Reject(AdmissionRequest request, Refusal refusal, DateTimeOffset now)
    {
        instruments.OnRejected(request.Model, refusal.Reason.ToCode());
        LogRejected(logger, TenantId, request.JobId, request.Model, refusal.Reason);
        return Result(refusal, 0, now);
    }

    private AdmissionResult Result(Refusal? refusal, long reserved, DateTimeOffset now)
    {
        var budget = State.Info?.Budget ?? new TenantBudget();
        return new AdmissionResult(
            refusal is null, refusal?.Reason, refusal?.Message, refusal?.RetryAfter,
            TenantViews.Limits(State, now), reserved, budget.Priority, budget.Weight)
        {
            RequiredLabels = budget.RequiredLabels,
        };
    }

    private Settlement? FindSettlement(string jobId) => State.Settled.Find(s => s.JobId == jobId);

    private ModelTally TallyOf(string model)
    {
        if (!State.Models.TryGetValue(model, out var tally))
        {
            State.Models[model] = tally = new ModelTally();
        }

        return tally;
    }

    /// <summary>A settlement rebuilt from the job's ledger lines (reserve, charge, refund), or null when it has none.</summary>
    private async Task<Settlement?> FindSettlementInLedgerAsync(string jobId)
    {
        var lines = await ledger.FindJobAsync(TenantId, jobId);
        var charge = lines.FirstOrDefault(e => e.Kind == LedgerEntryKind.Charge);
        if (charge is null)
        {
            return null;
        }

        var reserved = lines.Where(e => e.Kind == LedgerEntryKind.Reserve).Sum(e => e.Tokens);
        var refunded = lines.Where(e => e.Kind == LedgerEntryKind.Refund).Sum(e => e.Tokens);
        return new Settlement(jobId, reserved, charge.Tokens, refunded, AlreadySettled: true);
    }

    private static void Validate(AdmissionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireJobId(request.JobId);
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            throw new ArgumentException("model is required.", nameof(request));
        }

        if (request.PromptTokens < 0 || request.MaxCompletionTokens < 0)
        {
            throw new ArgumentException("Token counts must not be negative.", nameof(request));
        }
    }

    private static void Validate(SettlementRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireJobId(request.JobId);
        if (request.PromptTokens < 0 || request.CompletionTokens < 0)
        {
            throw new ArgumentException("Token counts must not be negative.", nameof(request));
        }
    }

    private static void RequireJobId(string jobId)
    {
        if (string.IsNullOrWhiteSpace(jobId))
        {
            throw new ArgumentException("job_id is required.", nameof(jobId));
        }
    }
}
