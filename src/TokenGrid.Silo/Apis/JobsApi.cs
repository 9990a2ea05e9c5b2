using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Options;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// The native jobs API under <c>/v1/jobs</c>: submit, inspect, list, cancel, watch and delete content. A tenant sees only its own jobs;
/// another tenant's job answers 404 exactly like a missing one.
/// </summary>
internal static class JobsApi
{
    public static RouteGroupBuilder MapJobsApi(this RouteGroupBuilder v1)
    {
        var jobs = v1.MapGroup("/jobs").WithTags("Jobs");
        jobs.MapPost("/", CreateJobAsync).WithName("CreateJob").Accepts<JobRequest>("application/json").ProducesOpenAiProblems();
        jobs.MapGet("/", ListJobsAsync).WithName("ListJobs").Documents(
            ("limit", true, "Jobs per page, newest first. Default and maximum: configured."),
            ("before", false, "The last_id of the previous page: the page of jobs older than that job."));
        jobs.MapGet("/{id}", GetJobAsync).WithName("GetJob").ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapPost("/{id}/cancel", CancelJobAsync).WithName("CancelJob").ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapDelete("/{id}", DeleteJobAsync).WithName("DeleteJob").ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapGet("/{id}/events", WatchJobAsync).WithName("WatchJob")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status410Gone);
        return v1;
    }

    internal static async Task<Accepted<JobView>> CreateJobAsync(HttpContext http, GenerationPlanner planner, JobSubmitter submitter)
    {
        var request = await RequestJson.ReadAsync<JobRequest>(http);
        RequestFieldPolicy.Check(request);
        if (request.TopLogprobs is not null && request.Logprobs != true)
        {
            throw new ApiProblemException(ApiProblems.BadRequest("top_logprobs requires logprobs to be true.", "invalid_value", "top_logprobs"));
        }

        var fields = GenerationFields.From(request, request.MaxTokens, "max_tokens") with
        {
            TopLogprobs = request.Logprobs == true ? request.TopLogprobs ?? 0 : null,
        };
        var hasPrompt = request.Prompt.ValueKind is not (System.Text.Json.JsonValueKind.Undefined or System.Text.Json.JsonValueKind.Null);
        if (hasPrompt == request.Messages is not null)
        {
            throw new ApiProblemException(ApiProblems.BadRequest("Give either prompt or messages.", "invalid_value", "prompt"));
        }

        GenerationPlan plan;
        if (hasPrompt)
        {
            var (text, tokens) = PromptParser.Prompt(request.Prompt);
            plan = planner.ForPrompt(fields, text, tokens);
        }
        else
        {
            plan = planner.ForChat(fields, PromptParser.Messages(request.Messages));
        }

        var (_, job) = await submitter.SubmitAsync(http, plan, keepOutput: true);
        return TypedResults.Accepted($"/v1/jobs/{job.Id}", JobView.Of(job));
    }

    /// <summary><c>?limit=&amp;before=</c>, read by <see cref="QueryValues"/> so a bad one is a 400 naming it.</summary>
    internal static async Task<Ok<ListPage<JobView>>> ListJobsAsync(HttpContext http, IGrainFactory grains, IOptions<ApiOptions> options)
    {
        var pageSize = (int)(QueryValues.Integer(http.Request, "limit", 1, options.Value.MaxPageSize) ?? options.Value.DefaultPageSize);
        var before = QueryValues.Single(http.Request, "before");
        var tenant = http.Tenant();
        var ids = await grains.GetGrain<ITenantGrain>(tenant.TenantId).ListJobIdsAsync(before, pageSize + 1);
        var page = ids.Take(pageSize).ToList();
        var jobs = await Task.WhenAll(page.Select(id => grains.GetGrain<IJobGrain>(id).GetAsync()));
        var views = jobs.Where(j => j is not null && j.TenantId == tenant.TenantId).Select(j => JobView.Of(j!)).ToList();
        return TypedResults.Ok(new ListPage<JobView>(views, ids.Count > pageSize, page.LastOrDefault()));
    }

    internal static async Task<Ok<JobView>> GetJobAsync(string id, HttpContext http, IGrainFactory grains) =>
        TypedResults.Ok(JobView.Of(await FindOwnAsync(grains, http, id)));

    internal static async Task<Ok<JobView>> CancelJobAsync(string id, HttpContext http, IGrainFactory grains)
    {
        await FindOwnAsync(grains, http, id);
        var job = await grains.GetGrain<IJobGrain>(id).CancelAsync(JobOutcomeReason.CancelledByTenant);
        return TypedResults.Ok(JobView.Of(job!));
    }

    /// <summary>
    /// Deletes the job's content now (prompt, output, token ids, log probabilities); its content-free record stays listed,
    /// and the ledger is untouched. A job that has not ended is cancelled first (settled for what it used). Deleting again
    /// answers the same record.
    /// </summary>
    internal static async Task<Ok<JobView>> DeleteJobAsync(string id, HttpContext http, IGrainFactory grains)
    {
        await FindOwnAsync(grains, http, id);
        var job = await grains.GetGrain<IJobGrain>(id).DeleteContentAsync(JobContentDeletionReason.DeletedByTenant);
        return TypedResults.Ok(JobView.Of(job!));
    }

    /// <summary>
    /// Server-sent events of the job (<c>event: tokens</c> and <c>event: status</c>, with the sequence as id) until its
    /// final status. <c>Last-Event-ID</c> resumes after that sequence, on any silo, also after the job moved to another
    /// silo; a watch broken by a silo failure re-attaches by itself. Written by ASP.NET Core's server-sent events result:
    /// one flush per event is what a watch wants, unlike a completion stream (see <see cref="SseWriter"/>). Between
    /// events that are <see cref="ApiOptions.StreamKeepAliveInterval"/> apart (a queued job) it writes keep-alive comments.
    /// </summary>
    internal static async Task<ServerSentEventsResult<JobEventView>> WatchJobAsync(
        string id, HttpContext http, IGrainFactory grains, ModelCatalog catalog, ILoggerFactory loggers, IOptions<ApiOptions> options,
        TimeProvider time)
    {
        var found = await FindOwnAsync(grains, http, id);
        if (found.ContentDeleted is { } deleted)
        {
            throw new ApiProblemException(ApiProblems.JobContentDeleted(id, deleted));
        }

        var logprobs = catalog.TryGet(found.Model, out var model) ? new LogprobFormat(model) : null;

        // Sequences are positions in a job's events, far below this bound; a larger id is past the end all the same, and
        // bounding it keeps the ids answered after it (the end's, one past it) from wrapping around to negative numbers.
        var after = long.TryParse(http.Request.Headers["Last-Event-ID"], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            ? Math.Min(last, long.MaxValue / 2) : 0;
        http.Response.Headers["X-Accel-Buffering"] = "no";
        var logger = loggers.CreateLogger(typeof(JobsApi));
        var events = JobOutput.FollowAsync(grains.GetGrain<IJobGrain>(id), after, logger, http.RequestAborted);
        var idle = KeepAliveBeat(http.Response, options.Value.StreamKeepAliveInterval, time);
        return TypedResults.ServerSentEvents(EventsAsync(events, logprobs, idle, http.RequestAborted));
    }

    /// <summary>
    /// The job's events as <c>tokens</c> and <c>status</c> events with the sequence as id, until its final status, each
    /// read through <paramref name="idle"/>. A watcher that leaves ends the stream (the job goes on).
    /// </summary>
    private static async IAsyncEnumerable<SseItem<JobEventView>> EventsAsync(
        IAsyncEnumerable<JobEvent> events, LogprobFormat? logprobs, Func<ValueTask<bool>, ValueTask<bool>> idle,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var reader = events.GetAsyncEnumerator(cancellationToken);
        while (await idle(reader.MoveNextAsync()))
        {
            var @event = reader.Current;
            yield return new SseItem<JobEventView>(JobEventView.Of(@event, logprobs), @event.Kind == JobEventKind.Tokens ? "tokens" : "status")
            {
                EventId = @event.Sequence.ToString(CultureInfo.InvariantCulture),
            };
        }
    }

    /// <summary>
    /// Waits for the watch's next event, writing an SSE comment to <paramref name="response"/> every
    /// <paramref name="interval"/> while there is none. Writing to the body here is safe: the server-sent events result
    /// (System.Net.ServerSentEvents' <c>SseFormatter</c>) has flushed the previous event and is awaiting this read, and it
    /// set the headers before the first read. The library has no way to write a comment itself.
    /// </summary>
    private static Func<ValueTask<bool>, ValueTask<bool>> KeepAliveBeat(HttpResponse response, TimeSpan interval, TimeProvider time)
    {
        Func<Task> beat = async () =>
        {
            await response.Body.WriteAsync(SseWriter.KeepAliveComment, response.HttpContext.RequestAborted);
            await response.Body.FlushAsync(response.HttpContext.RequestAborted);
        };
        return next => KeepAlive.WaitAsync(next, interval, interval, beat, time);
    }

    /// <summary>The job when it exists and belongs to the caller's tenant; otherwise 404, the same for both.</summary>
    private static async Task<JobInfo> FindOwnAsync(IGrainFactory grains, HttpContext http, string id)
    {
        var job = JobSubmitter.IsJobId(id) ? await grains.GetGrain<IJobGrain>(id).GetAsync() : null;
        return job is not null && job.TenantId == http.Tenant().TenantId ? job : throw new ApiProblemException(ApiProblems.JobNotFound(id));
    }
}
