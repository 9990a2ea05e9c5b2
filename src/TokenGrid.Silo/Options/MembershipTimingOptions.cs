using Orleans.Configuration;

namespace TokenGrid.Silo.Options;

/// <summary>
/// How fast the cluster declares a silo dead (section <c>TokenGrid:Cluster:Membership</c>), applied to Orleans'
/// <see cref="ClusterMembershipOptions"/>. The defaults suit a small cluster (a handful of silos on one network): every
/// silo probes every other, a silo that misses <see cref="NumMissedProbesLimit"/> probes in a row is suspected, and
/// <see cref="NumVotesForDeathDeclaration"/> suspicions declare it dead. A silo killed outright (its connections refused)
/// is declared dead about <see cref="NumMissedProbesLimit"/> × <see cref="ProbeTimeout"/> after it died, 4–6 s with the
/// defaults; a silo that hangs with its connections open can take up to four times as long, since Orleans stretches the
/// effective probe timeout up to 4 × <see cref="ProbeTimeout"/> for slow peers. Its nodes leave the registry and its jobs
/// re-queue at that moment (see docs/scheduling.md, Failover).
/// </summary>
/// <example>
/// <code>
/// "TokenGrid": { "Cluster": { "Membership": { "ProbeTimeout": "00:00:02", "NumMissedProbesLimit": 2 } } }
/// </code>
/// </example>
public sealed class MembershipTimingOptions
{
    /// <summary>Initial timeout of one liveness probe, and about the period between probes. Default: 2 seconds (Orleans: 5).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Probes missed in a row before a silo suspects the probed one. Default: 2 (Orleans: 3).</summary>
    public int NumMissedProbesLimit { get; set; } = 2;

    /// <summary>Silos each silo probes. Default: 10 (Orleans' default: in a small cluster every silo probes every other).</summary>
    public int NumProbedSilos { get; set; } = 10;

    /// <summary>
    /// Suspicions needed to declare a silo dead (at most <see cref="NumProbedSilos"/>; Orleans needs fewer when fewer silos
    /// are alive to vote). Default: 2 (Orleans' default), so one silo with a bad link cannot evict another on its own.
    /// </summary>
    public int NumVotesForDeathDeclaration { get; set; } = 2;

    /// <summary>How long a suspicion counts toward a declaration. Default: 2 minutes (Orleans' default).</summary>
    public TimeSpan DeathVoteExpirationTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often a silo re-reads the membership table besides gossip. Default: 10 seconds (Orleans: 60).</summary>
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a silo writes its heartbeat to the table (diagnostics, stale rows). Default: 10 seconds (Orleans: 30).</summary>
    public TimeSpan IAmAliveTablePublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A reason these settings are invalid, or null.</summary>
    public string? Validate() =>
        ProbeTimeout <= TimeSpan.Zero ? "membership probe timeout must be positive."
        : NumMissedProbesLimit < 1 ? "membership missed probes limit must be at least 1."
        : NumProbedSilos < 1 ? "membership probed silos must be at least 1."
        : NumVotesForDeathDeclaration < 1 || NumVotesForDeathDeclaration > NumProbedSilos
            ? "membership votes for a death declaration must be between 1 and the number of probed silos."
        : DeathVoteExpirationTimeout <= TimeSpan.Zero ? "membership death vote expiration must be positive."
        : TableRefreshTimeout <= TimeSpan.Zero ? "membership table refresh must be positive."
        : IAmAliveTablePublishTimeout <= TimeSpan.Zero ? "membership I-am-alive publish period must be positive."
        : null;

    /// <summary>Copies these settings onto Orleans' options.</summary>
    public void ApplyTo(ClusterMembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ProbeTimeout = ProbeTimeout;
        options.NumMissedProbesLimit = NumMissedProbesLimit;
        options.NumProbedSilos = NumProbedSilos;
        options.NumVotesForDeathDeclaration = NumVotesForDeathDeclaration;
        options.DeathVoteExpirationTimeout = DeathVoteExpirationTimeout;
        options.TableRefreshTimeout = TableRefreshTimeout;
        options.IAmAliveTablePublishTimeout = IAmAliveTablePublishTimeout;
    }
}
