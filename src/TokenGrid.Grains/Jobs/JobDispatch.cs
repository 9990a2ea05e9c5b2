using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;
using TokenGrid.Inference.Engine.Prefix;

namespace TokenGrid.Grains.Jobs;

/// <summary>What a job asks of scheduling: its place in its model's queue, and what each run asks its node for.</summary>
internal static class JobDispatch
{
    /// <summary>
    /// The job as its dispatcher sees it: the tenant's class, weight, labels and (for cost-aware placement) region costs
    /// from the <paramref name="admission"/>, and the cost of what is left (a resumed run recomputes its prompt plus the
    /// tokens produced, then generates the rest). With <paramref name="prefixBlockTokens"/> &gt; 0, the prompt of this run
    /// cut into blocks of that size in the job's prefix cache scope (<see cref="PrefixCacheScopes.Of"/>), as the summaries
    /// the dispatcher matches against the nodes' digests; 0 leaves them out (placement by load alone).
    /// </summary>
    public static DispatchRequest Request(
        string jobId, JobSpec spec, AdmissionResult? admission, JobCheckpoints checkpoints, DateTimeOffset enqueuedAt, bool resumed,
        int prefixBlockTokens = 0, int preemptions = 0)
    {
        var blocks = prefixBlockTokens > 0 && spec.PromptTokens.Length + checkpoints.Tokens.Count >= prefixBlockTokens
            ? PrefixHashes.Summaries(PrefixCacheScopes.Of(spec.TenantId, admission), NextRun(spec, checkpoints.Tokens).PromptTokens, prefixBlockTokens)
            : null;
        return new()
        {
            JobId = jobId,
            TenantId = spec.TenantId,
            Priority = Priority(admission?.Priority ?? PriorityClass.Standard, spec.Priority),
            Weight = Math.Max(1, admission?.Weight ?? 1),
            PromptTokens = spec.PromptTokens.Length + checkpoints.Tokens.Count,
            MaxTokens = spec.MaxTokens - checkpoints.Tokens.Count,
            RequiredLabels = admission?.RequiredLabels ?? new Dictionary<string, string>(),
            EnqueuedAt = enqueuedAt,
            Resumed = resumed,
            Preemptible = checkpoints.Resumable,
            Preemptions = preemptions,

            // A resumed choice recomputes its own output as prompt, which no sibling shares.
            AffinityKey = resumed ? null : spec.Choice?.GroupId,
            RegionCosts = admission?.RegionCosts,
            CheapestMaxExtraWait = admission?.CheapestMaxExtraWait ?? TimeSpan.Zero,
            PrefixBlocks = blocks,
            PrefixBlockTokens = blocks is null ? 0 : prefixBlockTokens,
            ModelFingerprint = spec.ModelFingerprint,
        };
    }

    /// <summary>
    /// The job <paramref name="info"/> once its dispatcher answered <paramref name="queued"/>: refused (with the ending, the
    /// scheduler's reason and its retry delay), or queued, showing its place while it waits for a node. A job refused as it
    /// queues to go on (<paramref name="resumed"/>: after a preemption or its node's loss) ran before, so it fails rather
    /// than being rejected, and settles what it produced.
    /// </summary>
    public static (JobInfo Info, JobEnding? Refused) Enqueued(JobInfo info, EnqueueResult queued, bool resumed = false) =>
        !queued.Queued
            ? (info with { SchedulingRejection = queued.Rejection, RetryAfter = resumed ? null : queued.RetryAfter },
                new JobEnding(resumed ? JobStatus.Failed : JobStatus.Rejected, JobOutcome.Failed,
                    queued.Message ?? $"The scheduler refused the job ({queued.Rejection})."))
            : (queued.Position > 0 && info.Status == JobStatus.Queued ? info with { QueuePosition = queued.Position, ExpectedWait = queued.ExpectedWait } : info, null);

    /// <summary>
    /// What the next run asks the node for: the original spec, or after a preemption or failover the recomputation (the
    /// prompt followed by the <paramref name="produced"/> tokens, and the tokens still allowed).
    /// </summary>
    public static (int[] PromptTokens, int MaxTokens) NextRun(JobSpec spec, IReadOnlyList<int> produced) => produced.Count == 0
        ? (spec.PromptTokens, spec.MaxTokens)
        : ([.. spec.PromptTokens, .. produced], spec.MaxTokens - produced.Count);

    /// <summary>
    /// What job <paramref name="jobId"/>'s next run asks its node for, after <paramref name="produced"/> tokens. A resumed
    /// run recomputes them as prompt; the engine counts them as output, so penalties, min_tokens and the seeded random
    /// stream go on as if the sequence had never stopped.
    /// </summary>
    public static GenerationSpec Generation(string jobId, JobSpec spec, IReadOnlyList<int> produced, AdmissionResult? admission)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var (prompt, maxTokens) = NextRun(spec, produced);
        return new GenerationSpec(
            jobId, spec.Model, prompt, maxTokens, spec.Sampling, spec.Stop, spec.Output, produced.Count, spec.Choice?.GroupId,
            spec.OutputSchema, spec.OutputSchemaTrigger, PrefixCacheScopes.Of(spec.TenantId, admission), spec.OutputSchemaRepeats,
            spec.TemplateStop, spec.ModelFingerprint);
    }

    /// <summary>The class the job is scheduled at: the tenant's, or the lower one the request asked for.</summary>
    public static PriorityClass Priority(PriorityClass tenant, PriorityClass? requested) =>
        requested is { } asked && asked < tenant ? asked : tenant;

    /// <summary>
    /// A queued job's info with its place and expected wait as its dispatcher has them now; as it is when the dispatcher
    /// no longer queues it or cannot be asked.
    /// </summary>
    public static async Task<JobInfo> WithQueuePlaceAsync(JobInfo queued, IModelDispatcherGrain dispatcher)
    {
        ArgumentNullException.ThrowIfNull(queued);
        ArgumentNullException.ThrowIfNull(dispatcher);
        try
        {
            var position = await dispatcher.GetPositionAsync(queued.Id);
            return position is null ? queued : queued with { QueuePosition = position.Position, ExpectedWait = position.ExpectedWait };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return queued;
        }
    }

    /// <summary>
    /// Ends a job's wait for a node with <paramref name="error"/>, which its run then fails with; nothing when it is not
    /// waiting (<paramref name="placement"/> null or already given a node).
    /// </summary>
    public static void EndWaiting(TaskCompletionSource<string>? placement, Exception error)
    {
        if (placement is { Task.IsCompleted: false })
        {
            placement.TrySetException(error);
        }
    }
}
