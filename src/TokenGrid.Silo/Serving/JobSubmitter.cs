using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Telemetry;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Options;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// Submits a plan as a new job of the calling tenant. A job refused by the tenant's budget or the model's scheduler is
/// thrown as a <see cref="JobFailedException"/>, which the exception handler answers (see <see cref="ApiProblems.ForJob"/>).
/// </summary>
internal sealed partial class JobSubmitter(IGrainFactory grains, TimeProvider time, IOptions<ApiOptions> options, TokenGridInstruments instruments)
{
    /// <summary>Submits the job; the admission's limits become this reply's rate-limit headers.</summary>
    public async Task<(IJobGrain Grain, JobInfo Job)> SubmitAsync(HttpContext http, GenerationPlan plan, bool keepOutput)
    {
        var tenant = http.Tenant();
        if (plan.Priority is { } asked)
        {
            await CheckPriorityAsync(tenant.TenantId, asked);
        }

        var grain = grains.GetGrain<IJobGrain>(NewJobId());
        var job = await SubmitOnceAsync(grain, plan.ToJobSpec(tenant.TenantId, keepOutput, options.Value.JobTimeout), http.RequestAborted);
        if (job.Admission is { } admission)
        {
            tenant.Limits = admission.Limits;
        }

        if (job.Status == JobStatus.Rejected)
        {
            throw new JobFailedException(job);
        }

        return (grain, job);
    }

    /// <summary>
    /// Submits the <see cref="GenerationPlan.Choices"/> choices of an <c>n</c> &gt; 1 request as one job each (see
    /// <see cref="JobChoice"/>). The tenant admits them first, in one decision, all or none: prompt plus n × max tokens,
    /// so a budget that covers 1 choice but not n gets the rejection and nothing is reserved. Each choice samples with
    /// its own seed, <c>seed + index</c>, so the choices differ and a repeat with the same seed gives the same ones. When
    /// the scheduler refuses a choice the others are cancelled (settling what they used) and the refusal is answered.
    /// </summary>
    public Task<IReadOnlyList<(IJobGrain Grain, JobInfo Job)>> SubmitChoicesAsync(HttpContext http, GenerationPlan plan, bool keepOutput) =>
        SubmitPromptsAsync(http, [plan], keepOutput);

    /// <summary>
    /// Submits the choices of several prompts (a legacy completion's list of prompts, <paramref name="plans"/> one per
    /// prompt, each for the same <c>n</c>) as one group, as <see cref="SubmitChoicesAsync"/>
    /// submits one prompt's: one admission for every prompt's tokens and every choice's max tokens, all or none. Choice
    /// <c>i × n + j</c> (prompt i's choice j) is returned at that index; each prompt's choices are a choice group of their
    /// own (prompt i's choice 0 reserves and is charged its prompt, its siblings fork from it), and choice j samples with
    /// <c>seed + j</c>, so each prompt's choices are those of a request for that prompt alone.
    /// </summary>
    public async Task<IReadOnlyList<(IJobGrain Grain, JobInfo Job)>> SubmitPromptsAsync(HttpContext http, IReadOnlyList<GenerationPlan> plans, bool keepOutput)
    {
        var tenant = http.Tenant();
        if (plans[0].Priority is { } asked)
        {
            await CheckPriorityAsync(tenant.TenantId, asked);
        }

        var n = plans[0].Choices;
        var count = plans.Count * n;
        var ids = Enumerable.Range(0, count).Select(_ => NewJobId()).ToArray();
        var specs = new JobSpec[count];
        for (var p = 0; p < plans.Count; p++)
        {
            var spec = plans[p].ToJobSpec(tenant.TenantId, keepOutput, options.Value.JobTimeout);
            var group = ids[(p * n)..((p + 1) * n)];
            for (var j = 0; j < n; j++)
            {
                specs[(p * n) + j] = spec with
                {
                    // A prompt of its own (n = 1 in a list of prompts) is no choice group: it reserves and charges its prompt.
                    Choice = n == 1 ? null : new JobChoice(group[0], j, n) { Siblings = j == 0 ? group[1..] : [] },
                    Sampling = spec.Sampling with { Seed = spec.Sampling.Seed is { } seed ? unchecked(seed + (ulong)j) : null },
                };
            }
        }

        var model = specs[0].Model;
        var started = time.GetTimestamp();
        var admission = await grains.GetGrain<ITenantGrain>(tenant.TenantId).AdmitGroupAsync(
            [.. specs.Select((spec, i) => new AdmissionRequest(ids[i], spec.Model, spec.Choice is { ChargesPrompt: false } ? 0 : spec.PromptTokens.Length, spec.MaxTokens))]);
        tenant.Limits = admission.Limits;
        if (!admission.Admitted)
        {
            var rejected = new JobInfo
            {
                Id = ids[0], TenantId = tenant.TenantId, Model = model, Status = JobStatus.Rejected, Admission = admission,
            };

            // No job exists to record its end, so the request's ends are counted here: one per choice, as the tenant
            // counts the group's rejections and as admitted choices end (docs/metrics.md).
            var end = new RequestEnd(model, "rejected", admission.Rejection?.ToCode() ?? "error", time.GetElapsedTime(started), null, null);
            for (var i = 0; i < count; i++)
            {
                instruments.OnRequestFinished(end);
            }

            // Too large for the tenant ever to admit: it is the choices together that do not fit (the prompts × n of a list).
            throw new JobFailedException(rejected, admission.Rejection == AdmissionRejection.RequestTooLarge ? (plans.Count > 1 ? "prompt" : "n") : null);
        }

        var jobs = ids.Select(id => grains.GetGrain<IJobGrain>(id)).ToArray();
        (IJobGrain Grain, JobInfo Job)[] submitted;
        try
        {
            submitted = await Task.WhenAll(jobs.Select(async (grain, i) => (grain, await SubmitOnceAsync(grain, specs[i], http.RequestAborted))));
        }
        catch
        {
            // No reply will read the choices that did start: end them (a choice never saved is settled for nothing by
            // the tenant's recovery reminder).
            await CancelAllAsync(jobs);
            throw;
        }

        if (Array.Find(submitted, s => s.Job.Status == JobStatus.Rejected) is { Grain: not null } refused)
        {
            await CancelAllAsync(jobs);
            throw new JobFailedException(refused.Job);
        }

        return submitted;
    }

    /// <summary>
    /// Submits <paramref name="spec"/> to its job, sending it again while the job's silo is failing (see
    /// <see cref="SubmitRetries"/>): submitting is idempotent, since a job that has its spec answers with its job, so a
    /// reply lost with a dying silo costs nothing but the wait. Without this, a request whose choices were partly
    /// submitted failed as a whole after the others had run and been charged, and a tenant that retried paid twice.
    /// </summary>
    private Task<JobInfo> SubmitOnceAsync(IJobGrain grain, JobSpec spec, CancellationToken cancellationToken) =>
        SubmitRetries(time).ExecuteAsync(static (state, _) => new ValueTask<JobInfo>(state.grain.SubmitAsync(state.spec)), (grain, spec), cancellationToken).AsTask();

    /// <summary>One pipeline per clock (building one validates its options by reflection: too dear per request).</summary>
    private static readonly ConditionalWeakTable<TimeProvider, ResiliencePipeline> s_submitRetries = [];

    /// <summary>
    /// Retries a submission that failed because a silo is gone or unreachable (not a timeout, which has already waited):
    /// 8 more attempts, 100 ms apart and doubling up to 2 s, about 9 s in all, which covers the 4 s membership takes to
    /// declare a killed silo dead (silo-config/README.md, "Failure detection"). After them the request is answered 503.
    /// </summary>
    internal static ResiliencePipeline SubmitRetries(TimeProvider time) => s_submitRetries.GetValue(time, static time =>
        new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not TimeoutException && ClusterFailures.IsClusterUnavailable(e)),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(2),
                MaxRetryAttempts = 8,
            })
            .Build());

    /// <summary>
    /// Cancels every job of a request that fails as a whole, as ended with their request (not the tenant's cancel); each
    /// settles what it used.
    /// </summary>
    internal static Task CancelAllAsync(IEnumerable<IJobGrain> jobs) =>
        Task.WhenAll(jobs.Select(async job =>
        {
            try
            {
                await job.CancelAsync(JobOutcomeReason.EndedWithRequest);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Best effort: a job that cannot be reached now ends by its own timeout and settles then.
            }
        }));

    /// <summary>
    /// A request may keep its tenant's priority class or lower it, never raise it: the class is what the tenant's budget
    /// grants (read from the tenant only when a request names one).
    /// </summary>
    private async Task CheckPriorityAsync(string tenantId, PriorityClass asked)
    {
        var info = await grains.GetGrain<ITenantGrain>(tenantId).GetAsync();
        var granted = info?.Budget.Priority ?? PriorityClass.Standard;
        if (asked > granted)
        {
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"priority '{asked.ToString().ToLowerInvariant()}' is above this tenant's class '{granted.ToString().ToLowerInvariant()}'; a request may keep or lower it.",
                "invalid_value", "priority"));
        }
    }

    /// <summary>
    /// Whether <paramref name="id"/> has the shape of the ids <see cref="NewJobId"/> makes: anything else names no job, and
    /// is answered without a look (and without activating a job grain).
    /// </summary>
    internal static bool IsJobId(string id) => JobIdShape().IsMatch(id);

    [GeneratedRegex(@"\Ajob_[0-9a-f]{24}\z", RegexOptions.CultureInvariant)]
    private static partial Regex JobIdShape();

    /// <summary>A new job id: <c>job_</c>, 12 hex digits of milliseconds since the epoch, then 12 random hex digits.</summary>
    private string NewJobId() =>
        $"job_{time.GetUtcNow().ToUnixTimeMilliseconds():x12}{RandomNumberGenerator.GetHexString(12, lowercase: true)}";
}
