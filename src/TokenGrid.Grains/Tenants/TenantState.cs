using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing;
using TokenGrid.Grains.JobIndex;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// Everything a tenant grain persists. <see cref="Reserved"/> always equals the sum of <see cref="Open"/> once an
/// operation ends; during settlement it steps down entry by entry so every ledger line shows its own balance.
/// </summary>
[GenerateSerializer, Alias("tg.TenantState")]
public sealed class TenantState
{
    /// <summary>
    /// How many settlements are kept in the state for quick repeats; older ones are found in the ledger (and a second
    /// reservation for an older one is refused by the store). The state is written with every batch of changes, so it
    /// stays small: a snapshot under 2 kB stays inline in its PostgreSQL row rather than going to TOAST storage.
    /// </summary>
    public const int SettledWindow = 16;

    /// <summary>The tenant, or null before it is created.</summary>
    [Id(0)] public TenantInfo? Info { get; set; }

    /// <summary>The tokens-per-minute bucket.</summary>
    [Id(1)] public TokenBucket Tokens { get; set; } = new();

    /// <summary>The requests-per-minute bucket.</summary>
    [Id(2)] public TokenBucket Requests { get; set; } = new();

    /// <summary>Start of the quota period that <see cref="Charged"/> belongs to.</summary>
    [Id(3)] public DateTimeOffset PeriodStart { get; set; }

    /// <summary>Tokens charged in the current period.</summary>
    [Id(4)] public long Charged { get; set; }

    /// <summary>Tokens held by open reservations.</summary>
    [Id(5)] public long Reserved { get; set; }

    /// <summary>Admitted, unsettled jobs by id.</summary>
    [Id(6)] public Dictionary<string, OpenReservation> Open { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The latest settlements, oldest first, so repeats return the same numbers.</summary>
    [Id(7)] public List<Settlement> Settled { get; set; } = [];

    // Id 8 is retired (job ids moved to IJobIndex); never reuse it.

    /// <summary>Per-model counters of the current period.</summary>
    [Id(9)] public Dictionary<string, ModelTally> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Sequence of the last ledger entry written.</summary>
    [Id(10)] public long LastSequence { get; set; }

    // Id 11 is retired (the ledger outbox: lines are now saved with the state by ITenantStore); never reuse it.

    /// <summary>
    /// Ledger lines the changes since the last save added. Not part of the saved state: the grain hands them to
    /// <see cref="ITenantStore"/>, which writes them in the same save as the state.
    /// </summary>
    public List<LedgerEntry> UnsavedLines => _unsavedLines ??= [];

    [NonSerialized] private List<LedgerEntry>? _unsavedLines;

    /// <summary>The tenant's API keys: hash and listing, never the secret.</summary>
    [Id(12)] public List<StoredApiKey> Keys { get; set; } = [];

    /// <summary>Micros the tenant was charged in the current period (its share), against its spend cap.</summary>
    [Id(13)] public long SpendCharged { get; set; }

    /// <summary>Micros held by open reservations of priced jobs: the most each can cost the tenant.</summary>
    [Id(14)] public long SpendReserved { get; set; }

    /// <summary>
    /// Settled jobs whose subsidy program is still to be told what it paid (its reservation ends with it). Sent after
    /// each save, and again on the recovery reminder until the program has it; telling it twice is harmless.
    /// </summary>
    [Id(15)] public List<PendingSubsidy> PendingSubsidies { get; set; } = [];

    /// <summary>The latest spend threshold events, oldest first (at most <see cref="SpendEventWindow"/>).</summary>
    [Id(16)] public List<SpendThresholdEvent> SpendEvents { get; set; } = [];

    /// <summary>The highest spend threshold (percent of the cap) raised in the current period; 0 when none.</summary>
    [Id(17)] public int SpendPercentRaised { get; set; }

    /// <summary>Blocks of subsidy programs' budgets the tenant holds its jobs' subsidies on (see <see cref="SubsidyAllowances"/>).</summary>
    [Id(18)] public List<SubsidyAllowance> Allowances { get; set; } = [];

    /// <summary>The spend webhook and its signing secret, or null.</summary>
    [Id(19)] public StoredSpendWebhook? Webhook { get; set; }

    /// <summary>Ids of spend threshold events still to be posted to <see cref="Webhook"/>, oldest first.</summary>
    [Id(20)] public List<string> PendingWebhookEvents { get; set; } = [];

    /// <summary>
    /// Whether the spend cap counts as reached in the current period: the charged spend reached it, or the cap refused a
    /// request with nothing else held (<see cref="TenantAccount.RefusedBySpendCap"/>). Cleared when the period starts
    /// over or the cap changes; published as <c>tokengrid_tenant_spend_cap_reached</c>.
    /// </summary>
    [Id(21)] public bool SpendCapReached { get; set; }

    /// <summary>How many spend threshold events the state keeps.</summary>
    public const int SpendEventWindow = 12;
}

/// <summary>
/// What a subsidy program paid for one of its reservations, to be sent to the program: a settled job's (reserved under
/// its id) or a returned allowance's (<see cref="SubsidyAllowance.Id"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.PendingSubsidy")]
public sealed record PendingSubsidy([property: Id(0)] string JobId, [property: Id(1)] string ProgramId, [property: Id(2)] Money Spent);

/// <summary>Tokens held for one admitted job, and its price when the rate card priced its model.</summary>
[GenerateSerializer, Immutable, Alias("tg.OpenReservation")]
public sealed record OpenReservation(
    [property: Id(0)] string JobId,
    [property: Id(1)] string Model,
    [property: Id(2)] long Tokens,
    [property: Id(3)] int PromptTokens,
    [property: Id(4)] DateTimeOffset AdmittedAt,
    [property: Id(5)] JobPrice? Price = null);

/// <summary>One model's counters in the current period.</summary>
[GenerateSerializer, Alias("tg.ModelTally")]
public sealed class ModelTally
{
    /// <summary>Jobs admitted.</summary>
    [Id(0)] public long Requests { get; set; }

    /// <summary>Prompt tokens charged.</summary>
    [Id(1)] public long PromptTokens { get; set; }

    /// <summary>Completion tokens charged.</summary>
    [Id(2)] public long CompletionTokens { get; set; }
}

/// <summary>An API key as the tenant keeps it: the SHA-256 of the secret and the listing.</summary>
[GenerateSerializer, Immutable, Alias("tg.StoredApiKey")]
public sealed record StoredApiKey(
    [property: Id(0)] string Hash,
    [property: Id(1)] ApiKeyInfo Info);

/// <summary>The spend webhook as the tenant keeps it: the secret signs each post, so it is kept (it is never shown again).</summary>
[GenerateSerializer, Immutable, Alias("tg.StoredSpendWebhook")]
public sealed record StoredSpendWebhook([property: Id(0)] SpendWebhook Webhook, [property: Id(1)] string Secret);
