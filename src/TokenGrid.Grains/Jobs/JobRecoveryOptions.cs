using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// How jobs survive the loss of a silo (section <see cref="SectionName"/>); see docs/scheduling.md, Failover.
/// </summary>
/// <example>
/// <code>
/// "TokenGrid": { "Jobs": { "CheckpointInterval": "00:00:01", "RecoveryPeriod": "00:00:10", "MaxNodeLosses": 3, "UnwatchedStreamGrace": "00:00:30" } }
/// </code>
/// </example>
public sealed class JobRecoveryOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Jobs";

    /// <summary>
    /// A running job saves the token ids it has produced (and its stream position) at most this often, and whenever its
    /// status changes. A job whose grain dies with its silo resumes from the last save: at most this much generation is
    /// recomputed, and is charged once. Default: 1 second.
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// While a tenant has open jobs, a reminder (stored with the grain state, so it outlives any silo) wakes its open jobs
    /// this often: a job whose grain and dispatcher both died with a silo is found again within about this long after
    /// the silo is declared dead. Faster paths (a broken node stream, a dispatcher that lost a node, a watcher
    /// re-attaching) usually come first. Also Orleans' minimum reminder period. Default: 10 seconds.
    /// </summary>
    public TimeSpan RecoveryPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most times one job may lose its node to a silo failure and resume; then it fails. Default: 3.</summary>
    public int MaxNodeLosses { get; set; } = 3;

    /// <summary>
    /// A chat or completion keeps no output: only a watcher attached while it runs receives its text. When its grain is
    /// reactivated from a checkpoint (its silo died, the whole cluster stopped, or the database was restored from a
    /// backup taken while it ran), the server that serves its client re-attaches within seconds; when no watcher has
    /// attached this long after the reactivation, no one can receive the rest, and the job ends as a client that left,
    /// charged for what it had produced. Async jobs (<c>/v1/jobs</c>) keep their output and always resume. Default: 30
    /// seconds.
    /// </summary>
    public TimeSpan UnwatchedStreamGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate() =>
        CheckpointInterval <= TimeSpan.Zero ? "the checkpoint interval must be positive."
        : RecoveryPeriod < TimeSpan.FromSeconds(1) ? "the recovery period must be at least one second."
        : MaxNodeLosses < 0 ? "max node losses must not be negative."
        : UnwatchedStreamGrace <= TimeSpan.Zero ? "the unwatched stream grace must be positive."
        : null;

    /// <summary>Binds and validates the options once, however many features ask for them.</summary>
    internal static void Register(IServiceCollection services)
    {
        if (services.Any(s => s.ServiceType == typeof(IValidateOptions<JobRecoveryOptions>)))
        {
            return;
        }

        services.AddValidatedOptions<JobRecoveryOptions>();
    }
}

