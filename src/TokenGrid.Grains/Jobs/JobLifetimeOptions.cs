using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// How long a finished job stays in memory (section <see cref="SectionName"/>). A job grain that is queued or running
/// never deactivates (it holds a live stream from its node); once finished, it is an ordinary idle grain that Orleans
/// collects after <see cref="ReattachGrace"/> without calls, instead of after the silo-wide collection age (15 minutes).
/// A later read or watch reactivates it from grain storage.
/// </summary>
/// <example>
/// <code>
/// "TokenGrid": { "Jobs": { "ReattachGrace": "00:02:00" } }
/// </code>
/// </example>
public sealed class JobLifetimeOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => JobRecoveryOptions.SectionName;

    /// <summary>
    /// A finished job's activation is collected after this long without a call (no watcher reading its events, no
    /// query). Within it, a watcher re-attaching with <c>Last-Event-ID</c> continues from the live event log; after it,
    /// the job reactivates from storage: an async job replays its kept output, a chat or completion stream (which keeps
    /// none) answers with its final status. The activation goes between this and this plus two collection quanta after its
    /// last call (see <see cref="MaxCollectionQuantum"/>): within this plus 40 s. Default: 2 minutes.
    /// </summary>
    public TimeSpan ReattachGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The longest <see cref="GrainCollectionOptions.CollectionQuantum"/> the silo keeps (Orleans' default is 1 minute); a
    /// grace under twice this gets half the grace. Orleans files an idle grain under its age rounded up to the next
    /// quantum boundary, and its collector visits those files once per quantum, at a phase set by when the silo started:
    /// each adds up to a quantum, so a finished job lives up to two quanta past its grace. With a minute's quantum that was
    /// up to 4 minutes for the 2-minute grace; with 20 s it is at most 2 minutes 40 s.
    /// </summary>
    public static readonly TimeSpan MaxCollectionQuantum = TimeSpan.FromSeconds(20);

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate() => ReattachGrace <= TimeSpan.Zero ? "the re-attach grace must be positive." : null;

    /// <summary>
    /// Binds and validates the options once, however many features ask for them, and gives the job grain class its
    /// collection age (Orleans' <see cref="GrainCollectionOptions.ClassSpecificCollectionAge"/>, keyed by class name).
    /// </summary>
    internal static void Register(IServiceCollection services)
    {
        if (services.Any(s => s.ServiceType == typeof(IValidateOptions<JobLifetimeOptions>)))
        {
            return;
        }

        services.AddValidatedOptions<JobLifetimeOptions>();
        // Not [CollectionAgeLimit] on the class: that fixes the age at compile time, and Orleans prefers it to this option.
        services.AddOptions<GrainCollectionOptions>()
            .Configure<IOptions<JobLifetimeOptions>>((collection, jobs) =>
            {
                var grace = jobs.Value.ReattachGrace;
                collection.ClassSpecificCollectionAge[typeof(JobGrain).FullName!] = grace;
                // Orleans refuses an age under the quantum, and two quanta bound how long past its grace a job stays.
                var quantum = grace / 2 < MaxCollectionQuantum ? grace / 2 : MaxCollectionQuantum;
                if (grace > TimeSpan.Zero && collection.CollectionQuantum > quantum)
                {
                    collection.CollectionQuantum = quantum;
                }
            });
    }
}

