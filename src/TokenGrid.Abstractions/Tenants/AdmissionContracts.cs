using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Abstractions.Tenants;

/// <summary>Asks a tenant to reserve tokens for one job.</summary>
/// <param name="JobId">The job; settlement refers to it.</param>
/// <param name="Model">The model the job runs on.</param>
/// <param name="PromptTokens">Prompt tokens, counted with the model's tokenizer.</param>
/// <param name="MaxCompletionTokens">Most tokens the job may generate, already capped by what the model can produce.</param>
[GenerateSerializer, Immutable, Alias("tg.AdmissionRequest")]
public sealed record AdmissionRequest(
    [property: Id(0)] string JobId,
    [property: Id(1)] string Model,
    [property: Id(2)] int PromptTokens,
    [property: Id(3)] int MaxCompletionTokens)
{
    /// <summary>Tokens reserved on admission: prompt plus the most the job may generate.</summary>
    public long Reservation => (long)PromptTokens + MaxCompletionTokens;
}

/// <summary>Why a job was not admitted.</summary>
public enum AdmissionRejection
{
    /// <summary>The tenant does not exist or is disabled.</summary>
    TenantDisabled,

    /// <summary>The requests-per-minute bucket is empty.</summary>
    RequestRateLimited,

    /// <summary>The tokens-per-minute bucket holds less than the reservation.</summary>
    TokenRateLimited,

    /// <summary>The tenant has its maximum of concurrent jobs.</summary>
    ConcurrencyLimited,

    /// <summary>The period quota cannot cover the reservation.</summary>
    QuotaExhausted,

    /// <summary>The reservation exceeds the token bucket's capacity: it could never be admitted.</summary>
    RequestTooLarge,

    /// <summary>The period's spend cap cannot cover the request's most possible cost.</summary>
    SpendCapReached,

    /// <summary>The tenant's subsidy program is out of budget for the period and refuses its tenants until the next.</summary>
    SubsidyExhausted,
}

/// <summary>The tenant's answer to an admission request.</summary>
[GenerateSerializer, Immutable, Alias("tg.AdmissionResult")]
public sealed record AdmissionResult(
    [property: Id(0)] bool Admitted,
    [property: Id(1)] AdmissionRejection? Rejection,
    [property: Id(2)] string? Message,
    [property: Id(3)] TimeSpan? RetryAfter,
    [property: Id(4)] RateLimitSnapshot Limits,
    [property: Id(5)] long Reserved,
    [property: Id(6)] PriorityClass Priority,
    [property: Id(7)] int Weight)
{
    /// <summary>Node labels the job's node must carry (the tenant's <see cref="TenantBudget.RequiredLabels"/>).</summary>
    [Id(8)] public IReadOnlyDictionary<string, string> RequiredLabels { get; init; } = Labels.None;

    /// <summary>
    /// For a tenant that prefers the cheapest placement: what the job would cost the tenant at most, in micros, per
    /// node <c>region</c> label the card prices apart, and under the key <c>""</c> in any other region. Null otherwise.
    /// </summary>
    [Id(9)] public IReadOnlyDictionary<string, long>? RegionCosts { get; init; }

    /// <summary>With <see cref="RegionCosts"/>: how much longer the job may wait for a cheaper node than for the quickest.</summary>
    [Id(10)] public TimeSpan CheapestMaxExtraWait { get; init; }

    /// <summary>
    /// The prefix cache scope of the tenant's jobs: <c>tenant:</c> and its id, or <c>shared:</c> and the name of the
    /// shared scope it opted into (<see cref="TenantBudget.PrefixCacheScope"/>). Null from grains that predate it: the
    /// job then uses its tenant's own scope.
    /// </summary>
    [Id(11)] public string? PrefixCacheScope { get; init; }

    /// <summary>
    /// A refusal no wait can turn into an admission: the request's reservation exceeds the tenant's whole period quota,
    /// or its most possible cost the whole spend cap (only a smaller request, or an administrator raising the limit, can
    /// help). Such refusals are the quota's and the cap's only ones without a <see cref="RetryAfter"/>.
    /// </summary>
    public bool Final => !Admitted && RetryAfter is null && Rejection is AdmissionRejection.QuotaExhausted or AdmissionRejection.SpendCapReached;

    /// <summary>Value equality, with <see cref="RequiredLabels"/> compared by content.</summary>
    public bool Equals(AdmissionResult? other) =>
        other is not null && Admitted == other.Admitted && Rejection == other.Rejection && Message == other.Message
        && RetryAfter == other.RetryAfter && Equals(Limits, other.Limits) && Reserved == other.Reserved
        && Priority == other.Priority && Weight == other.Weight && Labels.SetEquals(RequiredLabels, other.RequiredLabels);

    /// <inheritdoc/>
    public override int GetHashCode() =>
        HashCode.Combine(Admitted, Rejection, Message, RetryAfter, Limits, Reserved, HashCode.Combine(Priority, Weight, Labels.SetHash(RequiredLabels)));
}

/// <summary>How a job ended, for the ledger.</summary>
public enum JobOutcome
{
    /// <summary>Finished normally (stop or length).</summary>
    Completed,

    /// <summary>Cancelled by the tenant.</summary>
    Cancelled,

    /// <summary>The client went away mid-stream.</summary>
    Disconnected,

    /// <summary>The node or model failed.</summary>
    Failed,

    /// <summary>The job ran out of time.</summary>
    TimedOut,
}

/// <summary>Ends a job's reservation: the tokens actually used are charged, the rest refunded.</summary>
[GenerateSerializer, Immutable, Alias("tg.SettlementRequest")]
public sealed record SettlementRequest(
    [property: Id(0)] string JobId,
    [property: Id(1)] int PromptTokens,
    [property: Id(2)] int CompletionTokens,
    [property: Id(3)] JobOutcome Outcome)
{
    /// <summary>Where the job's tokens were created (the node that finished it), for pricing by region; null when no node ran it.</summary>
    [Id(4)] public CreationPlace? Place { get; init; }

    /// <summary>
    /// Of <see cref="PromptTokens"/>, those a node took from its prefix cache (recorded on the charge line; priced as any
    /// prompt token for now).
    /// </summary>
    [Id(5)] public int CachedPromptTokens { get; init; }
}

/// <summary>The result of settling; the same for every repeat of the same job id.</summary>
[GenerateSerializer, Immutable, Alias("tg.Settlement")]
public sealed record Settlement(
    [property: Id(0)] string JobId,
    [property: Id(1)] long Reserved,
    [property: Id(2)] long Charged,
    [property: Id(3)] long Refunded,
    [property: Id(4)] bool AlreadySettled);

/// <summary>Kinds of ledger entry.</summary>
public enum LedgerEntryKind
{
    /// <summary>Tokens held at admission.</summary>
    Reserve,

    /// <summary>Tokens used, taken from a reservation.</summary>
    Charge,

    /// <summary>The unused rest of a reservation, given back.</summary>
    Refund,

    /// <summary>A new period began: charged tokens start over.</summary>
    PeriodReset,
}

/// <summary>
/// One ledger line. After every entry the invariant <c>Balance = Quota − Charged − Reserved</c> holds, and per
/// job, charge + refund = reservation. A charge says which of its tokens were the prompt's and which the completion's
/// (<see cref="PromptTokens"/> + <see cref="CompletionTokens"/> = <see cref="Tokens"/>), so usage can be priced per
/// direction; every other kind has 0 for both. A charge also says how many of its prompt tokens a node took from its
/// prefix cache (<see cref="CachedPromptTokens"/> ≤ <see cref="PromptTokens"/>); they are priced as any prompt token.
/// </summary>
/// <remarks>
/// Money moves beside tokens, in micros of the rate card's currency, with the same invariant per job: a priced job's
/// reserve line holds its most possible cost to the tenant (<see cref="SpendMicros"/>), its charge line the tenant's
/// exact share and its refund line the rest. <see cref="SpendChargedAfter"/> and <see cref="SpendReservedAfter"/> are
/// the period's totals after the line. A charge of a priced job carries <see cref="Priced"/>: who pays what, per
/// direction, and where its tokens were created. Lines of unpriced jobs have 0 and null.
/// </remarks>
[GenerateSerializer, Immutable, Alias("tg.LedgerEntry")]
public sealed record LedgerEntry(
    [property: Id(0)] long Sequence,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] string TenantId,
    [property: Id(3)] string JobId,
    [property: Id(4)] string Model,
    [property: Id(5)] LedgerEntryKind Kind,
    [property: Id(6)] long Tokens,
    [property: Id(7)] long Quota,
    [property: Id(8)] long ChargedAfter,
    [property: Id(9)] long ReservedAfter,
    [property: Id(10)] long BalanceAfter,
    [property: Id(11)] long PromptTokens = 0,
    [property: Id(12)] long CompletionTokens = 0,
    [property: Id(13)] long SpendMicros = 0,
    [property: Id(14)] long SpendChargedAfter = 0,
    [property: Id(15)] long SpendReservedAfter = 0,
    [property: Id(16)] PricedCharge? Priced = null,
    [property: Id(17)] long CachedPromptTokens = 0);

/// <summary>A page of ledger entries, oldest first.</summary>
[GenerateSerializer, Immutable, Alias("tg.LedgerPage")]
public sealed record LedgerPage(
    [property: Id(0)] IReadOnlyList<LedgerEntry> Entries,
    [property: Id(1)] long? NextAfter);
