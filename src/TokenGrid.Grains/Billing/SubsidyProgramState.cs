using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Grains.Billing;

/// <summary>
/// Everything a subsidy program persists. In every period, <see cref="SubsidyPeriod.Reserved"/> equals the sum of the
/// open reservations made in it.
/// </summary>
[GenerateSerializer, Alias("tg.SubsidyProgramState")]
public sealed class SubsidyProgramState
{
    /// <summary>How many settled job ids are kept to recognise a repeat reservation after settlement.</summary>
    public const int SettledWindow = 128;

    /// <summary>How many periods are kept (the current one included), besides those that still hold open reservations.</summary>
    public const int PeriodHistory = 13;

    /// <summary>The program, or null before it is put.</summary>
    [Id(0)] public SubsidyProgram? Program { get; set; }

    /// <summary>The periods, oldest first; the last is the current one (none before the program is put).</summary>
    [Id(1)] public List<SubsidyPeriod> Periods { get; set; } = [];

    /// <summary>Open reservations by job id.</summary>
    [Id(2)] public Dictionary<string, SubsidyReservation> Open { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The latest settled job ids, oldest first.</summary>
    [Id(3)] public List<string> Settled { get; set; } = [];

    /// <summary>When the program or its position last changed.</summary>
    [Id(4)] public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>One period's (calendar month, UTC) budget position.</summary>
[GenerateSerializer, Alias("tg.SubsidyPeriod")]
public sealed class SubsidyPeriod
{
    /// <summary>The first instant of the period.</summary>
    [Id(0)] public DateTimeOffset Start { get; set; }

    /// <summary>Charged by settled jobs reserved in this period.</summary>
    [Id(1)] public Money Spent { get; set; }

    /// <summary>Held by open reservations made in this period.</summary>
    [Id(2)] public Money Reserved { get; set; }
}

/// <summary>A job's open reservation of subsidy.</summary>
/// <param name="TenantId">The tenant that reserved.</param>
/// <param name="Amount">The budget held for the job.</param>
/// <param name="PeriodStart">The period it is held in, and charged to when it settles.</param>
/// <param name="ReservedAt">When it was reserved (leak repair releases it once old and unknown to its tenant).</param>
[GenerateSerializer, Immutable, Alias("tg.SubsidyReservation")]
public sealed record SubsidyReservation(
    [property: Id(0)] string TenantId,
    [property: Id(1)] Money Amount,
    [property: Id(2)] DateTimeOffset PeriodStart,
    [property: Id(3)] DateTimeOffset ReservedAt);
