using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace TokenGrid.Grains.Jobs.Retention;

/// <summary>
/// How long a finished job keeps its content (section <see cref="SectionName"/>): the prompt's token ids and stop
/// sequences, the output text, the token ids and log probabilities, and the request's <c>user</c>. After that a sweep
/// deletes the content from grain storage and leaves the job's content-free record (id, tenant, model, status, token
/// counts, times, node, error). The token ledger is never touched. silo-config/README.md says what is stored where.
/// </summary>
/// <example>
/// <code>
/// "TokenGrid": { "Retention": { "StreamedJobs": "00:10:00", "AsyncJobs": "7.00:00:00", "Tenants": { "acme": "30.00:00:00" } } }
/// </code>
/// </example>
public sealed class JobRetentionOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Retention";

    /// <summary>
    /// A chat or completion (streamed or not) keeps its content this long after it ends: long enough to re-attach after a
    /// failover. At least <see cref="JobLifetimeOptions.ReattachGrace"/>. Default: 10 minutes.
    /// </summary>
    public TimeSpan StreamedJobs { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>An async job (<c>POST /v1/jobs</c>) keeps its content and output this long after it ends. Default: 7 days.</summary>
    public TimeSpan AsyncJobs { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// A stored response (<c>POST /v1/responses</c> with <c>store</c> true, its default) can be read, and referred to by
    /// <c>item_reference</c>, this long after it ended. Default: 30 days, as OpenAI keeps its responses.
    /// </summary>
    public TimeSpan StoredResponses { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Per tenant id, an async job retention that replaces <see cref="AsyncJobs"/> for that tenant. Default: none.</summary>
    public Dictionary<string, TimeSpan> Tenants { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The longest <see cref="SweepInterval"/>: a timer's limit (about 49 days).</summary>
    public static readonly TimeSpan MaxSweepInterval = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>
    /// Each silo sweeps expired content this often (it shares the work with the other silos); at most
    /// <see cref="MaxSweepInterval"/>. Default: 10 seconds: a sweep deletes what came due since the last, so the shorter
    /// the interval the smaller each burst of deletion (at 21 requests/s a 1-minute sweep deleted about 1,300 jobs' content
    /// at once, and the requests served at its start were the run's slowest; docs/benchmarks.md, issue 15).
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Jobs claimed and deleted per batch of a sweep: each batch is one short claim, one read and one write per job, and
    /// one delete of the claims, so no lock is held for long; a sweep runs batches until nothing is due, resting after
    /// each as long as it took, so small batches keep each burst of deletion short. Default: 10.
    /// </summary>
    public int BatchSize { get; set; } = 10;

    /// <summary>The retention of an async job of <paramref name="tenantId"/>.</summary>
    public TimeSpan AsyncJobsOf(string tenantId) => Tenants.TryGetValue(tenantId, out var own) ? own : AsyncJobs;

    /// <summary>A reason these options are invalid given the re-attach grace (see <see cref="JobRetentionOptionsValidator"/>), or null.</summary>
    public string? Validate(TimeSpan reattachGrace) =>
        StreamedJobs < reattachGrace ? $"StreamedJobs ({StreamedJobs}) must be at least the re-attach grace (TokenGrid:Jobs:ReattachGrace, {reattachGrace})."
        : Validate();

    /// <summary>A reason these options are invalid on their own, or null.</summary>
    public string? Validate() =>
        AsyncJobs <= TimeSpan.Zero ? "AsyncJobs must be positive."
        : StoredResponses <= TimeSpan.Zero ? "StoredResponses must be positive (a tenant that wants none stored sends store: false)."
        : Tenants.FirstOrDefault(t => t.Value <= TimeSpan.Zero) is { Key: { } tenant } ? $"Tenants:{tenant} must be positive."
        : SweepInterval <= TimeSpan.Zero || SweepInterval > MaxSweepInterval ? $"SweepInterval must be positive and at most {MaxSweepInterval}."
        : BatchSize < 1 ? "BatchSize must be at least 1."
        : null;

    /// <summary>
    /// Binds and validates the options once, however many features ask for them, and registers <see cref="JobRetention"/>
    /// with the in-memory <see cref="IJobContentExpiryStore"/> unless another is registered (PostgreSQL replaces it).
    /// </summary>
    internal static void Register(IServiceCollection services)
    {
        if (services.Any(s => s.ServiceType == typeof(IValidateOptions<JobRetentionOptions>)))
        {
            return;
        }

        // Not AddValidatedOptions: the validator below checks these options against the re-attach grace too.
        services.AddOptions<JobRetentionOptions>().BindConfiguration(SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JobRetentionOptions>, JobRetentionOptionsValidator>());
        services.TryAddSingleton<IJobContentExpiryStore, InMemoryJobContentExpiryStore>();
        services.TryAddSingleton<JobRetention>();
        services.TryAddSingleton<JobContentSweeper>();
        services.AddHostedService<JobRetentionService>();
    }
}

/// <summary>
/// Validates <see cref="JobRetentionOptions"/> at startup, including that a streamed job keeps its content at least as
/// long as the re-attach grace (<see cref="JobLifetimeOptions.ReattachGrace"/>).
/// </summary>
internal sealed class JobRetentionOptionsValidator(IOptions<JobLifetimeOptions> lifetime) : IValidateOptions<JobRetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, JobRetentionOptions options) =>
        options.Validate(lifetime.Value.ReattachGrace) is { } error
            ? ValidateOptionsResult.Fail($"{JobRetentionOptions.SectionName}: {error}")
            : ValidateOptionsResult.Success;
}
