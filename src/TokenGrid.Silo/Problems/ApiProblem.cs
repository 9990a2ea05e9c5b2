using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Scheduling;

namespace TokenGrid.Silo.Problems;

/// <summary>
/// An error the API answers with: an HTTP status and an RFC 9457 problem that also carries OpenAI's <c>error</c> object.
/// Thrown as <see cref="ApiProblemException"/> (or stood for by a domain exception) and written by
/// <see cref="ApiExceptionHandler"/>, the one place failures become problem+json.
/// </summary>
/// <param name="Status">HTTP status.</param>
/// <param name="Title">Short summary of the problem type.</param>
/// <param name="Detail">What happened this time.</param>
/// <param name="Code">Stable code (snake_case), also the OpenAI <c>error.code</c>.</param>
/// <param name="Param">The request field at fault, or null.</param>
/// <param name="Type">OpenAI error type; null: by status.</param>
public sealed record ApiProblem(int Status, string Title, string Detail, string Code, string? Param = null, string? Type = null)
{
    /// <summary>When to retry, sent as <c>Retry-After</c> and <c>retry-after-ms</c>; null: no such headers.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// False: sending the same request again cannot help (the job was cancelled, or failed after producing output that
    /// was charged), sent as <c>x-should-retry: false</c>, which the OpenAI SDKs obey before their own status rules (they
    /// retry 409 and every 5xx); such a problem has no <c>Retry-After</c>. Null: no such header.
    /// </summary>
    public bool? ShouldRetry { get; init; }

    /// <summary>
    /// The job the problem is about, when it was admitted (so it may have run, and be charged for what it produced), sent
    /// as the problem's <c>job_id</c> member: the tenant can then find it with <c>GET /v1/jobs/{id}</c> and in its ledger.
    /// </summary>
    public string? JobId { get; init; }

    /// <summary>OpenAI's error object for this problem.</summary>
    public OpenAiError ToOpenAiError() => new(Detail, Type ?? OpenAiErrorTypes.ForStatus(Status), Code, Param);
}

/// <summary>Thrown wherever a request fails with a problem of its own (input checks, lookups); see <see cref="ApiExceptionHandler"/>.</summary>
public sealed class ApiProblemException(ApiProblem problem) : Exception(problem.Detail)
{
    /// <summary>The problem to answer with.</summary>
    public ApiProblem Problem { get; } = problem;
}

/// <summary>The API's problems, in one place so their codes stay consistent.</summary>
internal static class ApiProblems
{
    /// <summary>The member of a problem body holding OpenAI's error object.</summary>
    public const string ErrorMember = "error";

    /// <summary>The member of a problem body naming the admitted job it is about (see <see cref="ApiProblem.JobId"/>).</summary>
    public const string JobIdMember = "job_id";

    /// <summary>
    /// The problem as a result, for the one place that cannot throw: an authentication challenge, whose
    /// <c>WWW-Authenticate</c> header the exception handler would clear. Everything else throws.
    /// </summary>
    public static ProblemHttpResult Result(ApiProblem problem) => TypedResults.Problem(
        detail: problem.Detail,
        statusCode: problem.Status,
        title: problem.Title,
        extensions: new Dictionary<string, object?> { [ErrorMember] = problem.ToOpenAiError() });

    public static ApiProblem BadRequest(string detail, string code = "invalid_request", string? param = null) =>
        new(400, "Invalid request", detail, code, param);

    public static ApiProblem InvalidJson(string detail) =>
        new(400, "Malformed JSON", detail, "invalid_json");

    public static ApiProblem BodyTooLarge(long limit) =>
        new(413, "Request body too large", $"The request body exceeds the limit of {limit} bytes.", "request_too_large");

    public static ApiProblem UnsupportedMediaType(string detail) =>
        new(415, "Unsupported media type", detail, "unsupported_media_type");

    /// <summary>A header that must appear at most once came more than once.</summary>
    public static ApiProblem InvalidHeader(string detail, string param) =>
        new(400, "Invalid request", detail, "invalid_header", param);

    public static ApiProblem MissingKey() =>
        new(401, "Unauthorized", "No API key was provided. Send it as 'Authorization: Bearer KEY'.", "missing_api_key");

    public static ApiProblem InvalidKey() =>
        new(401, "Unauthorized", "The API key is invalid or has been revoked.", "invalid_api_key");

    public static ApiProblem ModelNotFound(string model) =>
        new(404, "Model not found", $"The model '{model}' does not exist.", "model_not_found", "model", OpenAiErrorTypes.InvalidRequest);

    public static ApiProblem JobNotFound(string id) =>
        new(404, "Job not found", $"No job '{id}' exists.", "job_not_found");

    /// <summary>No stored response of the caller's has this id (missing, another tenant's, created with store false, or past its retention).</summary>
    public static ApiProblem ResponseNotFound(string id) =>
        new(404, "Response not found", $"No stored response '{id}' exists: responses created with store false are not kept, and stored ones are kept 30 days.", "response_not_found", "response_id");

    /// <summary>The job exists (its record is listed) but its content was deleted.</summary>
    public static ApiProblem JobContentDeleted(string id, JobContentDeletion deletion) => new(410, "Job content deleted",
        $"The content of job '{id}' was deleted at {deletion.At:O}" + deletion.Reason switch
        {
            JobContentDeletionReason.Expired => ": its retention period ended.",
            JobContentDeletionReason.TenantDeleted => " with its tenant.",
            _ => " by its tenant.",
        } + " The job's record (status, usage, times) is kept.",
        deletion.Reason == JobContentDeletionReason.Expired ? "job_content_expired" : "job_content_deleted");

    public static ApiProblem TenantNotFound(string id) =>
        new(404, "Tenant not found", $"No tenant '{id}' exists.", "tenant_not_found");

    public static ApiProblem KeyNotFound(string keyId) =>
        new(404, "Key not found", $"No key '{keyId}' exists for this tenant.", "key_not_found");

    public static ApiProblem ContextLengthExceeded(string model, int context, int prompt, string param) =>
        new(400, "Context length exceeded",
            $"The maximum context length of model '{model}' is {context} tokens; the prompt has {prompt} tokens and leaves no room to generate.",
            "context_length_exceeded", param, OpenAiErrorTypes.InvalidRequest);

    /// <summary>Prompt plus the tokens asked for exceed the model's context (OpenAI's and vLLM's message).</summary>
    public static ApiProblem ContextLengthExceeded(int context, int prompt, int maxTokens, string param) =>
        new(400, "Context length exceeded",
            $"This model's maximum context length is {context} tokens. However, you requested {(long)prompt + maxTokens} tokens "
            + $"({prompt} in the messages, {maxTokens} in the completion). Please reduce the length of the messages or completion.",
            "context_length_exceeded", param, OpenAiErrorTypes.InvalidRequest);

    /// <summary>
    /// A job the model's scheduler refused: the tenant's queue full is 429 (over its share), the model's queue full is
    /// 503 (cluster full), and no allowed node is 503 with the reason. The caller adds the measured <c>Retry-After</c>.
    /// </summary>
    public static ApiProblem SchedulingRejected(SchedulingRejection rejection, string detail) => rejection switch
    {
        SchedulingRejection.TenantQueueFull => new(429, "Tenant queue full", detail, rejection.ToCode(), Type: OpenAiErrorTypes.RateLimit),
        SchedulingRejection.ModelQueueFull => new(503, "Cluster full", detail, rejection.ToCode()),
        _ => new(503, "No eligible node", detail, rejection.ToCode()),
    };

    /// <summary>
    /// The problem for a job refused or ended without succeeding: its tenant's rejection (429 with the tenant's
    /// <c>Retry-After</c>, 400 for a request that can never fit the rate limits or the concurrency limit, 429 with
    /// <c>x-should-retry: false</c> for one larger than the whole quota or spend cap, 403 for a disabled tenant), its scheduler's (see
    /// <see cref="SchedulingRejected"/>), 409 when cancelled, 504 when it ran out of time, 500 when the database refused
    /// it for a reason a retry does not fix (<see cref="JobInfo.Faulted"/>), 503 when it failed. A retry cannot undo a
    /// cancel nor fix a fault, and a job that timed out or failed after producing output (charged) would run and be
    /// charged again: those say <see cref="ApiProblem.ShouldRetry"/> false. A 503 of a job that produced nothing can be
    /// retried (the exception handler adds its <c>Retry-After</c>).
    /// </summary>
    public static ApiProblem ForJob(JobInfo job) => ForJobStatus(job) with { JobId = job.AdmittedAt is null ? null : job.Id };

    private static ApiProblem ForJobStatus(JobInfo job) => job.Status switch
    {
        JobStatus.Cancelled => new ApiProblem(409, "Job cancelled", job.Error ?? $"Job '{job.Id}' was cancelled.", "job_cancelled") { ShouldRetry = false },
        JobStatus.Rejected when job.SchedulingRejection is { } scheduling =>
            SchedulingRejected(scheduling, job.Error ?? "The scheduler refused the job.") with { RetryAfter = job.RetryAfter },
        JobStatus.Rejected => AdmissionRejected(job),
        _ when job.TimedOut => new ApiProblem(504, "Job timed out", job.Error ?? $"Job '{job.Id}' did not finish in time.", "job_timed_out") { ShouldRetry = false },
        _ when job.Faulted => Internal() with { ShouldRetry = false },
        _ when job.CompletionTokens > 0 => Unavailable(job.Error ?? $"Job '{job.Id}' failed.") with { ShouldRetry = false },
        _ => Unavailable(job.Error ?? $"Job '{job.Id}' failed."),
    };

    private static ApiProblem AdmissionRejected(JobInfo job)
    {
        var admission = job.Admission;
        var message = admission?.Message ?? job.Error ?? "The job was not admitted.";
        ApiProblem problem = admission?.Rejection switch
        {
            AdmissionRejection.RequestRateLimited => new(429, "Rate limit reached", message, "rate_limit_exceeded", Type: "requests"),
            AdmissionRejection.TokenRateLimited => new(429, "Rate limit reached", message, "rate_limit_exceeded", Type: "tokens"),
            AdmissionRejection.ConcurrencyLimited => new(429, "Too many concurrent jobs", message, "concurrency_limit_exceeded", Type: OpenAiErrorTypes.RateLimit),
            // Larger than the whole quota or cap: OpenAI's type (clients stop and tell a person), a code of its own and
            // x-should-retry: false, so the SDKs do not send it again for nothing.
            AdmissionRejection.QuotaExhausted when admission is { Final: true } =>
                new(429, "Request exceeds quota", message, "request_exceeds_quota", Type: OpenAiErrorTypes.InsufficientQuota) { ShouldRetry = false },
            AdmissionRejection.SpendCapReached when admission is { Final: true } =>
                new(429, "Request exceeds spend cap", message, "request_exceeds_spend_cap", Type: OpenAiErrorTypes.InsufficientQuota) { ShouldRetry = false },
            AdmissionRejection.QuotaExhausted => new(429, "Quota exhausted", message, "insufficient_quota", Type: OpenAiErrorTypes.InsufficientQuota),
            AdmissionRejection.SpendCapReached => new(429, "Spend cap reached", message, "insufficient_quota", Type: OpenAiErrorTypes.InsufficientQuota),
            AdmissionRejection.SubsidyExhausted => new(429, "Subsidy exhausted", message, "insufficient_quota", Type: OpenAiErrorTypes.InsufficientQuota),
            AdmissionRejection.RequestTooLarge => new(400, "Request too large", message, "request_too_large", "max_tokens"),
            AdmissionRejection.TenantDisabled => new(403, "Tenant disabled", message, "tenant_disabled"),
            _ => Unavailable(message),
        };
        return problem with { RetryAfter = admission?.RetryAfter ?? job.RetryAfter };
    }

    public static ApiProblem Unavailable(string detail) =>
        new(503, "Service unavailable", detail, "service_unavailable");

    public static ApiProblem Internal() =>
        new(500, "Internal error", "The server failed to process the request.", "internal_error");
}
