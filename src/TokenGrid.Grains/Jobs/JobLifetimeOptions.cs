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
    /// none) answers with its final status. Orleans collects idle grains once per <c>GrainCollectionOptions.CollectionQuantum</c>
    /// (1 minute by default, shortened to half this grace when the grace is under 2 minutes), so the activation goes
    /// between this and this plus the quantum. Default: 2 minutes.
    /// </summary>
    public TimeSpan ReattachGrace { get; set; } = TimeSpan.FromMinutes(2);

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
                // Orleans refuses an age under the quantum, and the quantum bounds how long past its grace a job stays.
                if (grace > TimeSpan.Zero && collection.CollectionQuantum > grace / 2)
                {
                    collection.CollectionQuantum = grace / 2;
                }
            });
    }
}

