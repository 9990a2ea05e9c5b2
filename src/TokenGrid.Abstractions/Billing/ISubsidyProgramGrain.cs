using Orleans.Concurrency;

namespace TokenGrid.Abstractions.Billing;

/// <summary>The answer to a subsidy reservation: how much of the program's budget the job may spend.</summary>
/// <param name="Granted">Reserved for the job: at most what was asked, less once the period's budget runs short.</param>
/// <param name="Refused">
/// The program is out of budget and set to <see cref="SubsidyExhaustion.Refuse"/>: the tenant's request must be refused
/// (nothing is reserved).
/// </param>
[GenerateSerializer, Immutable, Alias("tg.SubsidyGrant")]
public sealed record SubsidyGrant([property: Id(0)] Money Granted, [property: Id(1)] bool Refused);

/// <summary>A subsidy program as the admin API shows it, with its current period's budget position.</summary>
[GenerateSerializer, Immutable, Alias("tg.SubsidyProgramInfo")]
public sealed record SubsidyProgramInfo(
    [property: Id(0)] SubsidyProgram Program,
    [property: Id(1)] DateTimeOffset PeriodStart,
    [property: Id(2)] Money Spent,
    [property: Id(3)] Money Reserved,
    [property: Id(4)] Money Remaining,
    [property: Id(5)] DateTimeOffset UpdatedAt);

/// <summary>
/// One subsidy program (key: program id). Its budget per period is never overspent: tenants' grains reserve a job's
/// most possible subsidy at admission and settle the exact amount once the job ends, as tokens are reserved and settled
/// with the tenant. Reservations and settlements are idempotent per job id and saved before they are answered. They
/// interleave so their saves can be grouped, but each is decided alone, in arrival order.
/// </summary>
public interface ISubsidyProgramGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates or changes the program (share, budget per period, what happens when it runs out). When
    /// <paramref name="actor"/> is given (the admin API gives it), the change is recorded in the audit log in this
    /// grain's turn, with the program it replaced as <c>before</c>, so concurrent changes are recorded in the order they
    /// were made.
    /// </summary>
    Task<SubsidyProgramInfo> PutAsync(SubsidyProgram program, string? actor = null);

    /// <summary>
    /// The program and its period's position, or null when it does not exist. Interleaves with everything: tenants ask it
    /// while admitting, and the program's leak repair waits on tenants.
    /// </summary>
    [AlwaysInterleave]
    Task<SubsidyProgramInfo?> GetAsync();

    /// <summary>
    /// Reserves up to <paramref name="wanted"/> of the current period's budget for <paramref name="jobId"/> of
    /// <paramref name="tenantId"/> (a job, or a block the tenant's jobs draw on). With a <paramref name="minimum"/> below
    /// <paramref name="wanted"/> it is a block: granted at most an eighth of what is left, and at least the minimum while
    /// that much is left. A repeat for an open reservation returns it. An unknown program grants nothing.
    /// </summary>
    [AlwaysInterleave]
    Task<SubsidyGrant> ReserveAsync(string tenantId, string jobId, Money wanted, Money? minimum = null);

    /// <summary>
    /// Ends a job's reservation: <paramref name="spent"/> (at most the reservation) is charged to the budget of the period
    /// the job was reserved in and the rest released. Idempotent; a job with no reservation is ignored.
    /// </summary>
    [AlwaysInterleave]
    Task SettleAsync(string tenantId, string jobId, Money spent);
}
